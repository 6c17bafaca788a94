/**
 * The door's small rules and wording (./submit-order.use-case.ts): the id
 * format a caller may not borrow, the one answer for an unusable id, the
 * reduce-only and OCO-exit judgements, and the messages of each outcome.
 */
import { performance } from 'node:perf_hooks';
import { ConflictError, InputValidationError } from '../common/domain-error';
import { DispatchOutcome } from '../orders/use-cases/dispatch-order.use-case';
import { ExposureSnapshot, isReduceOnly, OrderIntent, workingOn } from '../risk/pipeline/pre-trade-checks';
import { NewOrder } from '../trading/order';
import { BlockedStatus } from '../trading/order-status';

/**
 * The refusals a TWAP slice records as an order row, and the status it is
 * written in (docs/twap.md#blocked-slices). A reducing strategy's slice
 * (STRATEGY_REDUCING) is not among them: it is refused like any other check.
 */
export const SLICE_BLOCKS: Readonly<Partial<Record<string, BlockedStatus>>> = {
  KILL_SWITCH_ENGAGED: 'blocked_kill_switch',
  CIRCUIT_BREAKER_TRIPPED: 'blocked_circuit_breaker',
  STRATEGY_HALTED: 'blocked_strategy_halted',
};

/** The reason code a slice's order in a blocked status was refused with (the inverse of SLICE_BLOCKS). */
export function sliceBlockCode(status: BlockedStatus): string {
  const code = Object.keys(SLICE_BLOCKS).find((c) => SLICE_BLOCKS[c] === status);
  if (!code) throw new Error(`no refusal is written as ${status}`);
  return code;
}

export const DISPATCH_MESSAGES: Record<DispatchOutcome, string> = {
  acknowledged: 'Order submitted to the broker',
  rejected: 'Order rejected by the broker',
  unconfirmed: 'Broker outcome unknown (timeout or broker error); resolving by client_order_id',
  retry_scheduled: 'Broker rate-limited the submission; it will be sent again with the same client_order_id',
  failed: 'Order could not be sent: the broker refused the credentials',
  blocked: 'Order not sent: a safety control engaged after it was accepted',
};

export const QUEUED_MESSAGE =
  'Order accepted and queued: the broker budget is in use; it will be sent in turn with the same client_order_id (docs/broker-pacing.md)';

/** The format of derived ids (../trading/client-order-id.ts): a caller's id in it must be this order's own. */
export const DERIVED_ID_FORMAT = /^[0-9a-f]{24}$/;

/** The one answer for every client_order_id a key cannot use: it says nothing of what holds the id. */
export function unavailable(clientOrderId: string): ConflictError {
  return new ConflictError(
    'CLIENT_ORDER_ID_UNAVAILABLE',
    `client_order_id ${clientOrderId} cannot be used by this API key; send another client_order_id, or none to have one derived`,
    { client_order_id: clientOrderId },
  );
}

/** A reduce-only order that would no longer only reduce (the position or its open orders moved): nothing is written. */
export function assertReduceOnly(draft: NewOrder, exposure: ExposureSnapshot): void {
  if (isReduceOnly(draft, exposure)) return;
  throw new ConflictError(
    'CLOSE_PENDING',
    `A reduce-only ${draft.side} of ${draft.qty} ${draft.symbol} would go past flat: the position is ${exposure.positionQty} and open orders and resting exit legs already ${draft.side} ${workingOn(draft.side, exposure).toFixed()}`,
    {
      client_order_id: draft.clientOrderId,
      position_qty: exposure.positionQty,
      open_buy_qty: exposure.openBuyQty,
      open_sell_qty: exposure.openSellQty,
      exit_legs_qty: exitLegs(draft.side, exposure),
    },
  );
}

/** An OCO exits a position: with nothing (or not enough) to exit it is bad input, named on order_class. */
export function assertExit(draft: NewOrder, exposure: ExposureSnapshot): void {
  if (isReduceOnly(draft, exposure)) return;
  throw InputValidationError.field(
    'order_class',
    `oco is an exit: a ${draft.side} of ${draft.qty} ${draft.symbol} must reduce the position (${exposure.positionQty}, open ${draft.side} orders ${draft.side === 'sell' ? exposure.openSellQty : exposure.openBuyQty}, resting exit legs ${exitLegs(draft.side, exposure)}) without going past flat`,
  );
}

/** The resting exit legs counted on `side` (0 when not read). */
function exitLegs(side: 'buy' | 'sell', exposure: ExposureSnapshot): string {
  return (side === 'sell' ? exposure.exitLegSellQty : exposure.exitLegBuyQty) ?? '0';
}

/** How long one committed exposure read serves orders of the same symbol and strategy. */
export const COMMITTED_EXPOSURE_TTL_MS = 1_000;
const COMMITTED_EXPOSURE_MAX_KEYS = 10_000;

/**
 * The committed exposure counters, one read per symbol and strategy serving
 * for up to COMMITTED_EXPOSURE_TTL_MS, for the two judgements that may use a
 * slightly old picture:
 * - DRY_RUN: dry_run orders add no open orders and no fills, so the exposure
 *   they are checked against changes only through what live trading left
 *   behind (fills of older orders);
 * - live, the fast path's first look (SubmitOrderUseCase.admitGuarded): it
 *   only picks the way an order is judged. What admits the order is the
 *   insert's guard, checked on the counters the insert holds; an order the
 *   old picture passes and the counters do not is judged again under the
 *   lock, and one it refuses is judged under the lock in the first place.
 */
export class CommittedExposureReads {
  private readonly reads = new Map<string, { at: number; read: Promise<ExposureSnapshot> }>();

  read(order: OrderIntent, load: () => Promise<ExposureSnapshot>): Promise<ExposureSnapshot> {
    const key = `${order.symbol}\u0000${order.strategyId}`;
    const now = performance.now();
    const cached = this.reads.get(key);
    if (cached && now - cached.at < COMMITTED_EXPOSURE_TTL_MS) return cached.read;
    if (this.reads.size >= COMMITTED_EXPOSURE_MAX_KEYS) this.reads.clear();
    const read = load();
    this.reads.set(key, { at: now, read });
    read.catch(() => this.reads.delete(key));
    return read;
  }
}
