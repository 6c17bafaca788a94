/**
 * Replacing an open order (docs/order-lifecycle.md#replacing-an-order), as
 * pure functions: which orders may be replaced, the terms of the replacement,
 * its client_order_id, and whether it only takes risk off.
 *
 * Invariants:
 * 1. A replacement keeps the old order's symbol, side, type, strategy and
 *    extended_hours; only qty, the prices that apply to its type, the trail
 *    (in the unit the order has) and time_in_force change. A field that does
 *    not apply to the order's type is refused, named.
 * 2. Quantities follow the broker's (Alpaca's) semantics: the replacement is a
 *    new order for its qty; fills of the old order stay with the old. Absent
 *    a qty, the replacement is for the old order's open (unfilled) quantity.
 * 3. A replace that changes nothing (every given term equals the old order's,
 *    the qty compared with the open quantity) is refused: NO_CHANGE.
 * 4. `isRiskReducing` is true only when the replacement can never trade more,
 *    sooner or at a worse price than the old order: qty not above the open
 *    quantity, every price moved away from the market (or kept), the trail
 *    widened (or kept), time_in_force unchanged.
 * 5. Replacement ids: `<root>-r<n>` where root is the chain's first order and
 *    n counts the replaces of the chain (1, 2, …), the first n not yet taken.
 */
import { Decimal } from '../common/decimal';
import { DomainError, FieldProblem, InputValidationError } from '../common/domain-error';
import { NewOrder, Order, orderTermProblems, OrderTerms } from './order';
import { ORDER_TYPES, OrderStatus, OrderType, TIME_IN_FORCE, TimeInForce } from './order-status';

/** What a replace asks for; normalized decimal strings, every field optional. */
export interface ReplaceRequest {
  qty?: string;
  limitPrice?: string;
  stopPrice?: string;
  trailPrice?: string;
  trailPercent?: string;
  timeInForce?: TimeInForce;
  /** The replacement's own client_order_id; derived (`<root>-r<n>`) when absent. */
  clientOrderId?: string;
}

/**
 * Broker statuses an order can be replaced in (Alpaca refuses accepted,
 * pending_new, pending_cancel and pending_replace): it must be at the broker,
 * working, and not ending.
 */
export const REPLACEABLE_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'new',
  'partially_filled',
  'done_for_day',
]);

/** The statuses a replacement ends in when it never replaced its old order. */
const NOT_REPLACING: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'rejected',
  'failed',
  'blocked_kill_switch',
  'blocked_circuit_breaker',
  'blocked_strategy_halted',
  'dry_run',
]);

/** Whether a replacement row still stands for (or already did) replace its old order. */
export function replacementHolds(r: Pick<Order, 'status' | 'brokerOrderId'>): boolean {
  if (NOT_REPLACING.has(r.status)) return false;
  // Canceled while queued, never sent: the old order was never touched.
  return !(r.status === 'canceled' && r.brokerOrderId === null);
}

export function notReplaceable(order: Pick<Order, 'clientOrderId' | 'status'>, why: string): DomainError {
  return new DomainError(
    'conflict',
    'ORDER_NOT_REPLACEABLE',
    `Order ${order.clientOrderId} cannot be replaced: ${why}`,
    {
      client_order_id: order.clientOrderId,
      status: order.status,
    },
  );
}

/**
 * Throws ORDER_NOT_REPLACEABLE (naming the status) unless `old` is open at the
 * broker, has a broker id, and no replacement of it is in flight or done.
 */
export function assertReplaceable(
  old: Pick<Order, 'clientOrderId' | 'status' | 'brokerOrderId' | 'replacedBy' | 'orderClass' | 'legType'>,
  replacements: ReadonlyArray<Pick<Order, 'clientOrderId' | 'status' | 'brokerOrderId'>>,
): void {
  if (old.legType || (old.orderClass ?? 'simple') !== 'simple') {
    // Not in this release: a replace of an order with legs, or of a leg, would have to carry the legs along.
    throw notReplaceable(
      old,
      `it is ${old.legType ? `the ${old.legType} leg of an order` : `an order of class ${old.orderClass}`}`,
    );
  }
  const holding = replacements.find(replacementHolds);
  if (old.replacedBy || holding) {
    throw notReplaceable(
      old,
      `it is already being replaced by ${old.replacedBy ?? holding!.clientOrderId} (status ${old.status})`,
    );
  }
  if (!REPLACEABLE_STATUSES.has(old.status) || old.brokerOrderId === null) {
    throw notReplaceable(
      old,
      old.brokerOrderId === null && !REPLACEABLE_STATUSES.has(old.status)
        ? `its status is ${old.status}`
        : `its status is ${old.status} (only new, partially_filled and done_for_day orders at the broker can be replaced)`,
    );
  }
}

/** The old order's open quantity: what is still to fill. */
export function openQty(o: Pick<Order, 'qty' | 'filledQty'>): string {
  const open = new Decimal(o.qty).minus(o.filledQty);
  return (open.isNegative() ? new Decimal(0) : open).toFixed();
}

export interface ReplacementTerms {
  terms: OrderTerms;
  /** The API names of the terms the replace changes. */
  changed: string[];
}

/**
 * The replacement's terms: the old order's with what the request changes.
 * Throws InputValidationError naming each field that does not apply to the
 * order's type (or whose unit differs from the order's trail), the merged
 * terms' cross-field problems, and DomainError NO_CHANGE when nothing changes.
 */
export function replacementTerms(old: Order, req: ReplaceRequest): ReplacementTerms {
  const problems: FieldProblem[] = [];
  const t = old.orderType;
  const trailsByPrice = t === 'trailing_stop' && old.trailPrice != null;
  if (req.limitPrice !== undefined && t !== 'limit' && t !== 'stop_limit') {
    problems.push({ field: 'limit_price', problems: [`does not apply to ${t} orders`] });
  }
  if (req.stopPrice !== undefined && t !== 'stop' && t !== 'stop_limit') {
    problems.push({ field: 'stop_price', problems: [`does not apply to ${t} orders`] });
  }
  if (req.trailPrice !== undefined && (t !== 'trailing_stop' || !trailsByPrice)) {
    problems.push({
      field: 'trail_price',
      problems: [
        t === 'trailing_stop' ? 'this order trails by percent: send trail_percent' : `does not apply to ${t} orders`,
      ],
    });
  }
  if (req.trailPercent !== undefined && (t !== 'trailing_stop' || trailsByPrice)) {
    problems.push({
      field: 'trail_percent',
      problems: [
        t === 'trailing_stop' ? 'this order trails by price: send trail_price' : `does not apply to ${t} orders`,
      ],
    });
  }
  if (problems.length) throw new InputValidationError(problems);

  const open = openQty(old);
  const terms: OrderTerms = {
    symbol: old.symbol,
    side: old.side,
    qty: req.qty ?? open,
    orderType: t,
    limitPrice: req.limitPrice ?? old.limitPrice,
    stopPrice: req.stopPrice ?? old.stopPrice,
    timeInForce: req.timeInForce ?? old.timeInForce,
    strategyId: old.strategyId,
    trailPrice: req.trailPrice ?? old.trailPrice ?? null,
    trailPercent: req.trailPercent ?? old.trailPercent ?? null,
    extendedHours: old.extendedHours ?? false,
  };
  const cross = orderTermProblems(terms);
  if (cross.length) throw new InputValidationError(cross);

  const changed: string[] = [];
  if (req.qty !== undefined && !new Decimal(req.qty).eq(open)) changed.push('qty');
  if (req.limitPrice !== undefined && !same(req.limitPrice, old.limitPrice)) changed.push('limit_price');
  if (req.stopPrice !== undefined && !same(req.stopPrice, old.stopPrice)) changed.push('stop_price');
  if (req.trailPrice !== undefined && !same(req.trailPrice, old.trailPrice ?? null)) changed.push('trail_price');
  if (req.trailPercent !== undefined && !same(req.trailPercent, old.trailPercent ?? null)) {
    changed.push('trail_percent');
  }
  if (req.timeInForce !== undefined && req.timeInForce !== old.timeInForce) changed.push('time_in_force');
  if (!changed.length) {
    throw new DomainError(
      'invalid',
      'NO_CHANGE',
      `The replace changes nothing: the order already has these terms (its open qty is ${open})`,
      { client_order_id: old.clientOrderId, fields: [{ field: 'body', problems: ['changes no term of the order'] }] },
    );
  }
  return { terms, changed };
}

const same = (a: string, b: string | null): boolean => b !== null && new Decimal(a).eq(b);

/**
 * True when the replacement only takes risk off the old order (invariant 4):
 * such a replace passes without fat-finger or limit checks, and under the kill
 * switch, like a partial cancel.
 */
export function isRiskReducing(old: Order, next: OrderTerms): boolean {
  if (new Decimal(next.qty).gt(openQty(old))) return false;
  if (next.timeInForce !== old.timeInForce) return false;
  const buy = old.side === 'buy';
  // A buy trades sooner with a higher limit and a lower stop; a sell the other way round.
  if (!awayOrKept(next.limitPrice, old.limitPrice, buy ? 'lower' : 'higher')) return false;
  if (!awayOrKept(next.stopPrice, old.stopPrice, buy ? 'higher' : 'lower')) return false;
  // A wider trail triggers later.
  if (!awayOrKept(next.trailPrice ?? null, old.trailPrice ?? null, 'higher')) return false;
  if (!awayOrKept(next.trailPercent ?? null, old.trailPercent ?? null, 'higher')) return false;
  return true;
}

function awayOrKept(next: string | null, old: string | null, away: 'higher' | 'lower'): boolean {
  if (next === null || old === null) return next === old;
  const n = new Decimal(next);
  return away === 'higher' ? n.gte(old) : n.lte(old);
}

/** The chain a replacement continues: its first order, and how many replaces the chain has had. */
export function chainOf(old: Pick<NewOrder, 'clientOrderId' | 'metadata'>): { root: string; n: number } {
  const chain = old.metadata.replace_chain as { root?: unknown; n?: unknown } | undefined;
  if (chain && typeof chain.root === 'string' && typeof chain.n === 'number') return { root: chain.root, n: chain.n };
  return { root: old.clientOrderId, n: 0 };
}

export const replacementId = (root: string, n: number): string => `${root}-r${n}`;

/** What a broker reports of a replacement order (the fields an adopted order row is made of). */
export interface ReportedReplacement {
  id: string;
  clientOrderId: string;
  symbol: string;
  side: string;
  type: string;
  timeInForce: string;
  qty: string | null;
  limitPrice: string | null;
  stopPrice: string | null;
  trailPrice?: string | null;
  trailPercent?: string | null;
  createdAt: Date;
}

const STORABLE_ID = /^[A-Za-z0-9_.:-]{1,48}$/;

/**
 * The local row for a replacement the broker has and the books do not (its
 * answer was never recorded): the broker's terms, the old order's strategy,
 * `replaces` = the old order. Null when the broker's order cannot be held as
 * one of the gateway's (then it stays an orphan, reported).
 */
export function adoptedReplacement(old: Order, r: ReportedReplacement): NewOrder | null {
  if (!STORABLE_ID.test(r.clientOrderId) || r.symbol !== old.symbol || r.side !== old.side) return null;
  if (
    !(ORDER_TYPES as readonly string[]).includes(r.type) ||
    !(TIME_IN_FORCE as readonly string[]).includes(r.timeInForce)
  ) {
    return null;
  }
  if (r.qty === null || !new Decimal(r.qty).isInteger() || !new Decimal(r.qty).gt(0)) return null;
  const terms: OrderTerms = {
    symbol: old.symbol,
    side: old.side,
    qty: new Decimal(r.qty).toFixed(),
    orderType: r.type as OrderType,
    limitPrice: r.limitPrice,
    stopPrice: r.type === 'trailing_stop' ? null : r.stopPrice,
    timeInForce: r.timeInForce as TimeInForce,
    strategyId: old.strategyId,
    trailPrice: r.trailPrice ?? null,
    trailPercent: r.trailPrice != null ? null : (r.trailPercent ?? null),
    extendedHours: old.extendedHours ?? false,
  };
  if (orderTermProblems(terms).length) return null;
  const chain = chainOf(old);
  return {
    ...terms,
    clientOrderId: r.clientOrderId,
    status: 'submitted',
    createdAt: r.createdAt,
    metadata: { replace_chain: { root: chain.root, n: chain.n + 1 }, adopted_by: 'reconciliation' },
    replaces: old.clientOrderId,
  };
}
