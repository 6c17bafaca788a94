/**
 * One order on the sim exchange: its terms, validation, matching rules and
 * the BrokerOrder snapshot the port hands out. Plain functions, no I/O.
 *
 * Matching rules (the reference price is the symbol's last price):
 * - a stop buy triggers when reference ≥ stop, a stop sell when reference ≤ stop;
 *   once triggered a stop is a market order and a stop_limit a limit order;
 * - a trailing stop's stop follows the best price since it was placed (its
 *   high-water mark: the highest reference for a sell, the lowest for a buy)
 *   at the trail's distance, never moving back; crossed, it is a market order;
 * - a market order is always marketable; a limit buy when reference ≤ limit,
 *   a limit sell when reference ≥ limit;
 * - every execution is at the reference price, which for a marketable limit
 *   is the better of the two prices (never worse than the limit);
 * - legs (bracket / oto / oco): a bracket's or OTO's legs are `held` (never
 *   matched) until their entry has filled completely; then the take-profit is
 *   a limit and the stop-loss a stop (or stop-limit) like any other. The first
 *   execution of one of an OCO pair cancels the other (a bracket's two legs,
 *   or an OCO order and its stop-loss leg), so at most one of a pair fills.
 */
import { Decimal, normalizeDecimal, normalizeWholeQuantity } from '../../common/decimal';
import type { OrderSide, OrderType, TimeInForce } from '../../trading/order-status';
import type { BrokerOrder, BrokerOrderStatus } from '../broker-client.port';
import { forbidden, invalidRequest } from './sim-errors';

const SIDES: readonly OrderSide[] = ['buy', 'sell'];
const TYPES: readonly OrderType[] = ['market', 'limit', 'stop', 'stop_limit', 'trailing_stop'];
const TIME_IN_FORCE: readonly TimeInForce[] = ['day', 'gtc', 'ioc', 'fok'];

/** Alpaca's limit on client_order_id length. */
export const MAX_CLIENT_ORDER_ID_LENGTH = 128;

export type SimOrderStatus = Extract<
  BrokerOrderStatus,
  'new' | 'partially_filled' | 'filled' | 'canceled' | 'expired' | 'replaced' | 'rejected' | 'held'
>;

export type SimOrderClass = 'simple' | 'bracket' | 'oto' | 'oco';
export type SimLegType = 'take_profit' | 'stop_loss';

/** How an order relates to others: its class, and for a leg which one and whose. */
export interface SimOrderLinks {
  orderClass: SimOrderClass;
  legType: SimLegType | null;
  /** A leg's parent (the entry, or the OCO order); null for every other order. */
  parentId: string | null;
}

export const SIMPLE: SimOrderLinks = { orderClass: 'simple', legType: null, parentId: null };

/** What an order asks for, validated and normalized. */
export interface OrderTerms {
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  qty: Decimal;
  limitPrice: Decimal | null;
  /** For a trailing stop, the current stop (moved by `ratchet`). */
  stopPrice: Decimal | null;
  /** A trailing stop's trail: exactly one of them, null for every other type. */
  trailPrice: Decimal | null;
  trailPercent: Decimal | null;
}

export interface SimOrder extends OrderTerms, SimOrderLinks {
  /** A trailing stop's best price since it was placed (null for other types, and before its first price). */
  hwm: Decimal | null;
  /** Arrival sequence: time priority, and the tie-break for equal timestamps. */
  readonly seq: number;
  readonly id: string;
  readonly clientOrderId: string;
  readonly replaces: string | null;
  status: SimOrderStatus;
  /** False for a stop / stop_limit until the reference price crosses its stop. */
  triggered: boolean;
  filledQty: Decimal;
  /** Σ execution qty × price, kept exactly so the average price is derived, not accumulated. */
  filledNotional: Decimal;
  createdAt: Date;
  updatedAt: Date | null;
  submittedAt: Date | null;
  filledAt: Date | null;
  canceledAt: Date | null;
  replacedBy: string | null;
}

/** The raw fields a submit or a replace carries (strings as the port defines them). */
export interface RawTerms {
  symbol: unknown;
  side: unknown;
  type: unknown;
  timeInForce: unknown;
  qty: unknown;
  limitPrice: unknown;
  stopPrice: unknown;
  trailPrice?: unknown;
  trailPercent?: unknown;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidRequest(`invalid ${field}: ${JSON.stringify(value)} (expected one of ${allowed.join(', ')})`);
  }
  return value as T;
}

function price(value: unknown, field: string, required: boolean, type: OrderType): Decimal | null {
  if (value === null || value === undefined) {
    if (required) throw invalidRequest(`${field} is required for ${type} orders`);
    return null;
  }
  if (!required) throw invalidRequest(`${field} must not be given for ${type} orders`);
  const normalized = typeof value === 'string' ? normalizeDecimal(value) : undefined;
  if (normalized === undefined || new Decimal(normalized).lte(0)) {
    throw invalidRequest(`${field} must be a positive decimal string, got ${JSON.stringify(value)}`);
  }
  return new Decimal(normalized);
}

/** Validates a request's terms as the broker would; throws a definitive rejection naming the field. */
export function parseOrderTerms(raw: RawTerms): OrderTerms {
  if (typeof raw.symbol !== 'string' || raw.symbol.trim() === '') {
    throw invalidRequest(`invalid symbol: ${JSON.stringify(raw.symbol)}`);
  }
  const side = oneOf(raw.side, SIDES, 'side');
  const type = oneOf(raw.type, TYPES, 'type');
  const timeInForce = oneOf(raw.timeInForce, TIME_IN_FORCE, 'time_in_force');
  const qty = typeof raw.qty === 'string' ? normalizeWholeQuantity(raw.qty) : undefined;
  if (qty === undefined || new Decimal(qty).lte(0)) {
    throw invalidRequest(`qty must be a positive whole number of shares, got ${JSON.stringify(raw.qty)}`);
  }
  return {
    symbol: raw.symbol,
    side,
    type,
    timeInForce,
    qty: new Decimal(qty),
    limitPrice: price(raw.limitPrice, 'limit_price', type === 'limit' || type === 'stop_limit', type),
    stopPrice: price(raw.stopPrice, 'stop_price', type === 'stop' || type === 'stop_limit', type),
    ...trail(raw, type),
  };
}

function trail(raw: RawTerms, type: OrderType): Pick<OrderTerms, 'trailPrice' | 'trailPercent'> {
  const given = (v: unknown): boolean => v !== null && v !== undefined;
  if (type !== 'trailing_stop') {
    return {
      trailPrice: price(raw.trailPrice, 'trail_price', false, type),
      trailPercent: price(raw.trailPercent, 'trail_percent', false, type),
    };
  }
  if (given(raw.trailPrice) === given(raw.trailPercent)) {
    throw invalidRequest('exactly one of trail_price or trail_percent is required for trailing_stop orders');
  }
  return {
    trailPrice: price(raw.trailPrice, 'trail_price', given(raw.trailPrice), type),
    trailPercent: price(raw.trailPercent, 'trail_percent', given(raw.trailPercent), type),
  };
}

export const NO_TRAIL = { trailPrice: null, trailPercent: null } as const;

/**
 * A replacement's stop terms: a trailing stop's stop is the broker's to move,
 * so its replacement keeps its trail's unit, takes the new `trail` value when
 * one is given (Alpaca's `trail`) and starts a new mark; others take the new
 * stop or keep theirs.
 */
export function replacedStop(
  old: Pick<SimOrder, 'type' | 'stopPrice' | 'trailPrice' | 'trailPercent'>,
  stopPrice: string | undefined,
  trail?: string,
): Pick<RawTerms, 'stopPrice' | 'trailPrice' | 'trailPercent'> {
  if (old.type !== 'trailing_stop') return { stopPrice: stopPrice ?? old.stopPrice?.toFixed() ?? null };
  const inPrice = old.trailPrice !== null && old.trailPrice !== undefined;
  return {
    stopPrice: null,
    trailPrice: inPrice ? (trail ?? old.trailPrice?.toFixed() ?? null) : null,
    trailPercent: inPrice ? null : (trail ?? old.trailPercent?.toFixed() ?? null),
  };
}

/** The stop `trail` away from the best price `hwm`: below it for a sell, above it for a buy. */
export function trailingStopAt(
  side: OrderSide,
  hwm: Decimal,
  trail: Pick<OrderTerms, 'trailPrice' | 'trailPercent'>,
): Decimal {
  const distance = trail.trailPrice ?? hwm.mul(trail.trailPercent ?? 0).div(100);
  return side === 'sell' ? hwm.minus(distance) : hwm.plus(distance);
}

/**
 * A trailing stop after the reference `reference`: the high-water mark moves
 * only to a better price (higher for a sell, lower for a buy), and the stop
 * with it, so the stop never moves against the position it protects.
 */
export function ratchet(
  order: Pick<SimOrder, 'side' | 'hwm' | 'stopPrice' | 'trailPrice' | 'trailPercent'>,
  reference: Decimal,
): { hwm: Decimal; stopPrice: Decimal } {
  const better = order.hwm === null || (order.side === 'sell' ? reference.gt(order.hwm) : reference.lt(order.hwm));
  if (!better && order.stopPrice !== null) return { hwm: order.hwm!, stopPrice: order.stopPrice };
  const hwm = better ? reference : order.hwm!;
  return { hwm, stopPrice: trailingStopAt(order.side, hwm, order) };
}

export function validateClientOrderId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CLIENT_ORDER_ID_LENGTH) {
    throw invalidRequest(`client_order_id must be 1–${MAX_CLIENT_ORDER_ID_LENGTH} characters`);
  }
  return value;
}

/** Working at the venue: matched against the price. A held leg is not (yet). */
export function isOpen(order: SimOrder): boolean {
  return order.status === 'new' || order.status === 'partially_filled';
}

/** Not ended: working, or a leg held until its entry fills. What a cancel can still cancel. */
export function isLive(order: SimOrder): boolean {
  return isOpen(order) || order.status === 'held';
}

export function leavesQty(order: SimOrder): Decimal {
  return order.qty.minus(order.filledQty);
}

export function isStop(type: OrderType): boolean {
  return type === 'stop' || type === 'stop_limit' || type === 'trailing_stop';
}

/** Has the reference crossed the order's stop? Always true for orders without one. */
export function stopCrossed(order: Pick<OrderTerms, 'side' | 'type' | 'stopPrice'>, reference: Decimal): boolean {
  if (!isStop(order.type) || order.stopPrice === null) return true;
  return order.side === 'buy' ? reference.gte(order.stopPrice) : reference.lte(order.stopPrice);
}

/** Can a (triggered) order execute at the reference price? */
export function marketableAt(order: Pick<OrderTerms, 'side' | 'type' | 'limitPrice'>, reference: Decimal): boolean {
  if (order.type === 'market' || order.type === 'stop' || order.type === 'trailing_stop') return true;
  if (order.limitPrice === null) return true;
  return order.side === 'buy' ? reference.lte(order.limitPrice) : reference.gte(order.limitPrice);
}

/**
 * Splits a whole-share quantity into at most `parts` executions of whole
 * shares, none empty; the first `qty mod n` get one share more (as TWAP does).
 */
export function splitQuantity(qty: Decimal, parts: number): Decimal[] {
  if (!qty.isInteger() || qty.lte(1) || parts <= 1) return [qty];
  const n = qty.lt(parts) ? qty.toNumber() : parts;
  const base = qty.divToInt(n);
  const remainder = qty.minus(base.mul(n));
  return Array.from({ length: n }, (_, i) => (remainder.gt(i) ? base.plus(1) : base));
}

/** Of `qty` shares on `side`, how many open or increase exposure given the current position. */
export function openingQuantity(side: OrderSide, qty: Decimal, positionQty: Decimal): Decimal {
  const reducible = side === 'buy' ? Decimal.max(0, positionQty.neg()) : Decimal.max(0, positionQty);
  return Decimal.max(0, qty.minus(reducible));
}

function copy(date: Date | null): Date | null {
  return date === null ? null : new Date(date.getTime());
}

/**
 * The order as the port reports it: a fresh object every time, so an event's
 * snapshot never changes after it was taken. The average fill price is
 * Σ qty × price / Σ qty, exact whenever the quotient terminates (otherwise
 * rounded to the 40 significant digits of src/common/decimal.ts).
 */
export function toBrokerOrder(order: SimOrder, legs?: readonly SimOrder[]): BrokerOrder {
  return {
    ...(order.orderClass !== 'simple' ? { orderClass: order.orderClass } : {}),
    ...(legs && legs.length ? { legs: legs.map((leg) => toBrokerOrder(leg)) } : {}),
    id: order.id,
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    qty: order.qty.toFixed(),
    limitPrice: order.limitPrice?.toFixed() ?? null,
    stopPrice: order.stopPrice?.toFixed() ?? null,
    trailPrice: order.trailPrice?.toFixed() ?? null,
    trailPercent: order.trailPercent?.toFixed() ?? null,
    hwm: order.hwm?.toFixed() ?? null,
    status: order.status,
    filledQty: order.filledQty.toFixed(),
    filledAvgPrice: order.filledQty.isZero() ? null : order.filledNotional.div(order.filledQty).toFixed(),
    createdAt: new Date(order.createdAt.getTime()),
    updatedAt: copy(order.updatedAt),
    submittedAt: copy(order.submittedAt),
    filledAt: copy(order.filledAt),
    canceledAt: copy(order.canceledAt),
    replacedBy: order.replacedBy,
    replaces: order.replaces,
  };
}

/** The market order closing `qty` (default: all) of a position of `position` (not zero). */
export function closingTerms(symbol: string, position: Decimal, qty?: string): OrderTerms {
  let closing = position.abs();
  if (qty !== undefined) {
    const wanted = normalizeWholeQuantity(qty);
    if (wanted === undefined || new Decimal(wanted).lte(0)) throw invalidRequest('qty must be a positive whole number');
    if (new Decimal(wanted).gt(closing)) {
      throw forbidden(`insufficient qty available for order (position ${closing.toFixed()})`);
    }
    closing = new Decimal(wanted);
  }
  const side = position.gt(0) ? 'sell' : 'buy';
  return {
    symbol,
    side,
    type: 'market',
    timeInForce: 'day',
    qty: closing,
    limitPrice: null,
    stopPrice: null,
    ...NO_TRAIL,
  };
}

/** The legs an order asks for: each one's terms (already validated) and which leg it is. */
export interface SimLegRequest {
  orderClass: Exclude<SimOrderClass, 'simple'>;
  legs: Array<{ legType: SimLegType; terms: OrderTerms }>;
}

export interface SimExecution {
  seq: number;
  executionId: string;
  orderId: string;
  symbol: string;
  side: OrderTerms['side'];
  qty: Decimal;
  price: Decimal;
  cumQty: Decimal;
  leavesQty: Decimal;
  positionQty: Decimal;
  transactionTime: Date;
}

/** What the exchange tells about its changes when its book is durable (sim-book.ts SimJournal). */
export interface SimChangeListener {
  order(order: SimOrder): void;
  execution(execution: SimExecution): void;
}
