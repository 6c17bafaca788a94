/**
 * What broker news (or the gateway's own word on a send) does to an order,
 * as pure functions: from the locked order, the locked position and the
 * report to the rows to write. No I/O here; ApplyOrderUpdateUseCase loads,
 * calls these and writes the result in one unit of work.
 *
 * Invariants:
 * 1. Exactly once: a fill is proposed only when the reported cumulative
 *    filled quantity exceeds the order's (fill progress), so a replayed,
 *    duplicated or out-of-order report proposes nothing. The fills table's
 *    unique keys (execution id; order and cumulative step) are the backstop:
 *    when the insert finds the fill already recorded, the decision is taken
 *    again with `fillAlreadyRecorded` and then moves neither filled_qty nor
 *    the position, and writes no fill event.
 * 2. filled_qty only grows and never exceeds the order's qty (a report above
 *    it is refused with a FillProgressError, never clipped).
 * 3. Status follows the one transition table (trading/order-state-machine):
 *    it never moves backwards, and a fill is applied whatever the status.
 * 4. The position moves by exactly the recorded fill (position-math), and the
 *    fill row carries the P&L that fill realized.
 * 5. An order the gateway never sent (dry_run, failed, blocked_*) ignores
 *    broker reports: nothing is written.
 * 6. Idempotent: deciding on the order that results from a decision, with the
 *    same report, is `unchanged` and writes nothing.
 * 7. Every status change writes one `order.status` outbox event and, for the
 *    statuses the audit trail names, one audit row; every recorded fill
 *    writes one `order.fill` event (before the status event).
 * 8. `unchanged` means nothing at all is written.
 * 9. Replaces (docs/order-lifecycle.md#replacing-an-order): an order ends
 *    `replaced` on the broker's word, whichever comes first — the broker's
 *    `replaced` report for it, or the broker's acceptance of its replacement
 *    (`decideReplaced`) — and `replaced_by` names the replacement once it is
 *    known locally; it is set once and never changed. Fills of the old order
 *    stay with it, reported before or after it ended. Whatever the order in
 *    which these arrive, the old and the new order end in the same state.
 */
import type { AuditEntry } from '../../audit/audit-entry';
import type { BrokerOrder } from '../../broker/broker-client.port';
import { applyFillToPosition, PositionState } from '../../positions/domain/position-math';
import { fillIncrement, FillIncrement } from '../../trading/fill-progress';
import type { Order } from '../../trading/order';
import { fromBrokerStatus, GATEWAY_OUTCOMES, transition } from '../../trading/order-state-machine';
import type { OrderStatus } from '../../trading/order-status';

export type UpdateSource = 'stream' | 'webhook' | 'poll' | 'reconciliation' | 'submit';

export interface OrderUpdateReport {
  source: UpdateSource;
  /** The order as the broker reports it: status and cumulative fill. */
  order: BrokerOrder;
  at: Date;
  /** The execution this report is about, when the channel names one. */
  execution?: { executionId: string; qty: string; price: string } | null;
}

/** The order fields a lifecycle change writes (all of them, as they are after the change). */
export interface OrderPatch {
  status: OrderStatus;
  filledQty: string;
  filledAvgPrice: string | null;
  brokerOrderId: string | null;
  submittedAt: Date | null;
  filledAt: Date | null;
  errorMessage: string | null;
  retryCount: number;
  updatedAt: Date;
  /** The replacement's client_order_id, when this change learns it (written once; absent leaves it). */
  replacedBy?: string | null;
}

/** One row of the fills table. */
export interface FillRecord {
  executionId: string;
  clientOrderId: string;
  brokerOrderId: string | null;
  strategyId: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: string;
  price: string;
  cumQty: string;
  realizedPl: string;
  source: string;
  executedAt: Date;
}

export interface PositionWrite {
  symbol: string;
  position: PositionState;
  tradeAt: Date;
  updatedAt: Date;
}

/** One outbox row. */
export interface OrderEventDraft {
  clientOrderId: string;
  strategyId: string;
  symbol: string;
  /** `order.status` or `order.fill`. */
  eventType: 'order.status' | 'order.fill';
  status: OrderStatus;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export interface OrderUpdateDecision {
  outcome: 'applied' | 'unchanged';
  /** The order's status before and after. */
  previousStatus: OrderStatus;
  status: OrderStatus;
  /** The order's lifecycle fields to write; null when the row does not change. */
  patch: OrderPatch | null;
  /** The fill to insert (the insert may find it already recorded); null when none. */
  fill: FillRecord | null;
  /** The position after the fill; null when no fill is recorded. */
  positionChange: PositionWrite | null;
  /** `metadata.next_attempt_at` to write (null clears it); undefined leaves it. */
  nextAttemptAt?: Date | null;
  events: OrderEventDraft[];
  audit: AuditEntry[];
  /** Worth a log line (the report was odd), never an error. */
  warnings: string[];
}

/** Audit actions for the statuses the audit trail names. */
export const AUDITED_STATUSES: Partial<Record<OrderStatus, string>> = {
  submitted: 'order.submitted',
  submitted_unconfirmed: 'order.submit_unconfirmed',
  accepted: 'order.acknowledged',
  new: 'order.acknowledged',
  partially_filled: 'order.partially_filled',
  filled: 'order.filled',
  canceled: 'order.canceled',
  rejected: 'order.rejected',
  expired: 'order.expired',
  replaced: 'order.replaced',
  failed: 'order.failed',
  blocked_kill_switch: 'order.blocked',
  blocked_circuit_breaker: 'order.blocked',
  blocked_strategy_halted: 'order.blocked',
};

export function unchanged(order: Order, warnings: string[] = []): OrderUpdateDecision {
  return {
    outcome: 'unchanged',
    previousStatus: order.status,
    status: order.status,
    patch: null,
    fill: null,
    positionChange: null,
    events: [],
    audit: [],
    warnings,
  };
}

/** The fill the report brings, if any. Throws FillProgressError when the report cannot be applied. */
function increment(order: Order, r: OrderUpdateReport): FillIncrement | null {
  if (GATEWAY_OUTCOMES.has(order.status)) return null;
  return fillIncrement(
    order,
    r.order.filledQty,
    r.order.filledAvgPrice,
    r.execution?.price ?? null,
    r.execution?.qty ?? null,
  );
}

/**
 * Whether the report may record a fill, so the caller knows to lock the
 * symbol's position before deciding. Throws like `decideOrderUpdate`.
 */
export function mayRecordFill(order: Order, report: OrderUpdateReport): boolean {
  return increment(order, report) !== null;
}

export interface OrderUpdateInput {
  /** The order, locked. */
  order: Order;
  /** The symbol's position, locked; needed only when `mayRecordFill`. */
  position: PositionState | null;
  report: OrderUpdateReport;
  now: Date;
  /** The fill this decision proposed was found already recorded: decide without it. */
  fillAlreadyRecorded?: boolean;
  /**
   * When the report says the order was replaced: the client_order_id of the
   * local order the broker names as its replacement (`replaced_by`), if known.
   */
  replacement?: string | null;
}

/**
 * A broker report (stream, webhook, polling, reconciliation) applied to the
 * order. Throws FillProgressError when the report's fill cannot be applied
 * (the order needs reconciling), and an Error when a fill is possible but no
 * position was given.
 */
export function decideOrderUpdate(input: OrderUpdateInput): OrderUpdateDecision {
  const { order, position, report: r, now } = input;
  if (GATEWAY_OUTCOMES.has(order.status)) {
    // The broker cannot know an order the gateway never sent: such a report is wrong, not news.
    return unchanged(order, [
      `ignoring a ${r.source} report for ${order.clientOrderId}, which was never sent (${order.status})`,
    ]);
  }
  const warnings: string[] = [];
  const events: OrderEventDraft[] = [];

  let filledQty = order.filledQty;
  let filledAvgPrice = order.filledAvgPrice;
  let fill: FillRecord | null = null;
  let positionChange: PositionWrite | null = null;
  const inc = input.fillAlreadyRecorded ? null : increment(order, r);
  if (inc) {
    if (!position) throw new Error(`a fill of ${order.clientOrderId} needs its locked position`);
    const change = applyFillToPosition(position, { side: order.side, qty: inc.qty, price: inc.price });
    const executedAt = r.order.filledAt ?? r.at;
    fill = {
      // Channels without an execution id (polling, webhooks without one) get an id of the cumulative step.
      executionId: r.execution?.executionId ?? `cum:${order.clientOrderId}:${inc.newFilledQty}`,
      clientOrderId: order.clientOrderId,
      brokerOrderId: r.order.id,
      strategyId: order.strategyId,
      symbol: order.symbol,
      side: order.side,
      qty: inc.qty,
      price: inc.price,
      cumQty: inc.newFilledQty,
      realizedPl: change.realizedDelta,
      source: r.source,
      executedAt,
    };
    positionChange = {
      symbol: order.symbol,
      position: { qty: change.qty, avgEntryPrice: change.avgEntryPrice, realizedPl: change.realizedPl },
      tradeAt: executedAt,
      updatedAt: now,
    };
    filledQty = inc.newFilledQty;
    filledAvgPrice = inc.newAvgPrice;
    events.push({
      clientOrderId: order.clientOrderId,
      strategyId: order.strategyId,
      symbol: order.symbol,
      eventType: 'order.fill',
      status: order.status,
      payload: {
        execution_id: r.execution?.executionId ?? null,
        qty: inc.qty,
        price: inc.price,
        filled_qty: inc.newFilledQty,
        filled_avg_price: inc.newAvgPrice,
        position_qty: change.qty,
        source: r.source,
      },
      createdAt: now,
    });
  }

  const reported = fromBrokerStatus(r.order.status);
  if (!reported) warnings.push(`unrecognised broker status "${r.order.status}" for ${order.clientOrderId}`);
  const next = reported ? transition(order.status, reported) : { status: order.status, applied: false };
  const status = next.applied ? next.status : order.status;
  const adoptsBrokerId = order.brokerOrderId === null && !!r.order.id;
  const replacedBy =
    status === 'replaced' && !order.replacedBy && input.replacement ? input.replacement : (order.replacedBy ?? null);
  const learnsReplacement = replacedBy !== (order.replacedBy ?? null);
  if (status === order.status && !fill && !adoptsBrokerId && !learnsReplacement) return unchanged(order, warnings);

  const patch: OrderPatch = {
    status,
    filledQty,
    filledAvgPrice,
    brokerOrderId: order.brokerOrderId ?? r.order.id,
    submittedAt: order.submittedAt ?? r.order.submittedAt ?? (adoptsBrokerId ? now : null),
    filledAt: status === 'filled' ? (order.filledAt ?? r.order.filledAt ?? r.at) : order.filledAt,
    errorMessage: order.errorMessage,
    retryCount: order.retryCount,
    updatedAt: now,
    ...(learnsReplacement ? { replacedBy } : {}),
  };
  const audit: AuditEntry[] = [];
  if (status !== order.status) {
    events.push({
      clientOrderId: order.clientOrderId,
      strategyId: order.strategyId,
      symbol: order.symbol,
      eventType: 'order.status',
      status,
      payload: {
        previous_status: order.status,
        filled_qty: filledQty,
        source: r.source,
        ...(status === 'replaced' ? { replaced_by: replacedBy } : {}),
      },
      createdAt: now,
    });
    const action = AUDITED_STATUSES[status];
    if (action) {
      audit.push({
        action,
        actor: `broker:${r.source}`,
        clientOrderId: order.clientOrderId,
        strategyId: order.strategyId,
        symbol: order.symbol,
        details: {
          previous_status: order.status,
          broker_order_id: r.order.id,
          filled_qty: filledQty,
          filled_avg_price: filledAvgPrice,
          ...(status === 'replaced' ? { replaced_by: replacedBy } : {}),
        },
      });
    }
  }
  return {
    outcome: 'applied',
    previousStatus: order.status,
    status,
    patch,
    fill,
    positionChange,
    events,
    audit,
    warnings,
  };
}

export interface SubmitOutcomeOptions {
  errorMessage?: string | null;
  /** A 429's retry time: the order stays `pending_new` and is sent again then (null clears it). */
  retryAt?: Date | null;
  reasonCode?: string;
}

/**
 * The gateway's own word on an order it is sending: `submitted_unconfirmed`
 * after an ambiguous failure, `rejected` on the broker's definitive no,
 * `failed` when it never got there, `pending_new` again with a retry time
 * after a 429, `canceled`/`pending_cancel` for a cancel. The same transition
 * table applies, so a status the broker's stream already moved past is not
 * overwritten; a retry (same status, with `retryAt`) counts one more attempt.
 * Never records a fill.
 */
export function decideSubmitOutcome(
  order: Order,
  status: OrderStatus,
  opts: SubmitOutcomeOptions,
  now: Date,
): OrderUpdateDecision {
  const retrying = status === order.status && opts.retryAt !== undefined;
  const next = retrying ? { status, applied: true } : transition(order.status, status);
  if (!next.applied) return unchanged(order);
  const patch: OrderPatch = {
    status: next.status,
    filledQty: order.filledQty,
    filledAvgPrice: order.filledAvgPrice,
    brokerOrderId: order.brokerOrderId,
    submittedAt: order.submittedAt,
    filledAt: order.filledAt,
    errorMessage: opts.errorMessage ?? order.errorMessage,
    retryCount: retrying ? order.retryCount + 1 : order.retryCount,
    updatedAt: now,
  };
  const events: OrderEventDraft[] = [];
  if (next.status !== order.status) {
    events.push({
      clientOrderId: order.clientOrderId,
      strategyId: order.strategyId,
      symbol: order.symbol,
      eventType: 'order.status',
      status: next.status,
      payload: { previous_status: order.status, filled_qty: order.filledQty, source: 'gateway' },
      createdAt: now,
    });
  }
  const audit: AuditEntry[] = [];
  const action = retrying ? 'order.submit_retry_scheduled' : AUDITED_STATUSES[next.status];
  if (action) {
    audit.push({
      action,
      actor: 'gateway',
      clientOrderId: order.clientOrderId,
      strategyId: order.strategyId,
      symbol: order.symbol,
      reasonCode: opts.reasonCode ?? null,
      details: {
        previous_status: order.status,
        error: opts.errorMessage ?? null,
        retry_at: opts.retryAt?.toISOString() ?? null,
      },
    });
  }
  return {
    outcome: 'applied',
    previousStatus: order.status,
    status: next.status,
    patch,
    fill: null,
    positionChange: null,
    ...(opts.retryAt !== undefined ? { nextAttemptAt: opts.retryAt } : {}),
    events,
    audit,
    warnings: [],
  };
}
