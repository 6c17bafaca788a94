/**
 * The order as the gateway keeps it, and the rules a new order must satisfy
 * whatever sent it (HTTP, a TWAP slice, a manual control).
 */
import { FieldProblem, InputValidationError } from '../common/domain-error';
import { generateClientOrderId } from './client-order-id';
import { legTermsOf, LegType, OrderClass } from './order-class';
import { OrderSide, OrderStatus, OrderType, TimeInForce } from './order-status';

/** The economic terms of an order. Quantities and prices are normalized decimal strings. */
export interface OrderTerms {
  symbol: string;
  side: OrderSide;
  qty: string;
  orderType: OrderType;
  limitPrice: string | null;
  stopPrice: string | null;
  timeInForce: TimeInForce;
  strategyId: string;
  /** A trailing stop's trail in dollars (docs/order-lifecycle.md#trailing-stop-orders); absent or null otherwise. */
  trailPrice?: string | null;
  /** A trailing stop's trail in percent of the best price; absent or null otherwise. */
  trailPercent?: string | null;
  /** Eligible for the pre- and after-market sessions (limit day orders only); absent means false. */
  extendedHours?: boolean;
  /** simple (absent), bracket, oto or oco (docs/order-lifecycle.md#bracket-oto-and-oco-orders). */
  orderClass?: OrderClass;
  /** An order with legs: its take-profit leg's limit price (an OCO's own limit price). */
  takeProfitLimitPrice?: string | null;
  /** An order with legs: its stop-loss leg's stop price, and limit price for a stop-limit. */
  stopLossStopPrice?: string | null;
  stopLossLimitPrice?: string | null;
}

export interface SubmitOrderCommand extends Omit<OrderTerms, 'strategyId'> {
  strategyId?: string;
  clientOrderId?: string;
  idempotencyKey?: string;
}

/** The TWAP plan a slice's order belongs to: written with the order itself, set only by the slice dispatcher. */
export interface SliceLink {
  parentOrderId: string;
  sliceNum: number;
  totalSlices: number;
  scheduledTime: Date;
}

export interface NewOrder extends OrderTerms {
  clientOrderId: string;
  status: OrderStatus;
  createdAt: Date;
  metadata: Record<string, unknown>;
  /** A TWAP slice's plan, or a leg row's entry (absent or null for any other order). */
  parentOrderId?: string | null;
  sliceNum?: number | null;
  totalSlices?: number | null;
  scheduledTime?: Date | null;
  /** Why the order ended where it was written (a slice recorded blocked); absent or null otherwise. */
  errorMessage?: string | null;
  /** The client_order_id of the order this one replaces (docs/order-lifecycle.md#replacing-an-order); absent or null otherwise. */
  replaces?: string | null;
  /** Set on a leg row: which leg it is (its parent_order_id is its entry). */
  legType?: LegType | null;
}

export interface Order extends NewOrder {
  brokerOrderId: string | null;
  errorMessage: string | null;
  retryCount: number;
  updatedAt: Date;
  submittedAt: Date | null;
  filledAt: Date | null;
  filledQty: string;
  filledAvgPrice: string | null;
  parentOrderId: string | null;
  sliceNum: number | null;
  totalSlices: number | null;
  scheduledTime: Date | null;
  /** Set when the broker accepted this order's replacement: that order's client_order_id. */
  replacedBy?: string | null;
}

/** The terms the cross-field rules read. */
export type CrossFieldTerms = Pick<OrderTerms, 'orderType' | 'limitPrice' | 'stopPrice'> &
  Partial<Pick<OrderTerms, 'trailPrice' | 'trailPercent' | 'extendedHours' | 'timeInForce'>>;

/**
 * Rules across fields: which prices each order type needs and forbids; a
 * trailing stop takes exactly one of trail_price / trail_percent; extended
 * hours only for limit day orders.
 */
export function orderTermProblems(t: CrossFieldTerms): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const needsLimit = t.orderType === 'limit' || t.orderType === 'stop_limit';
  const needsStop = t.orderType === 'stop' || t.orderType === 'stop_limit';
  if (needsLimit && t.limitPrice === null) {
    problems.push({ field: 'limit_price', problems: [`is required for ${t.orderType} orders`] });
  }
  if (!needsLimit && t.limitPrice !== null) {
    problems.push({ field: 'limit_price', problems: [`must not be set for ${t.orderType} orders`] });
  }
  if (needsStop && t.stopPrice === null) {
    problems.push({ field: 'stop_price', problems: [`is required for ${t.orderType} orders`] });
  }
  if (!needsStop && t.stopPrice !== null) {
    problems.push({ field: 'stop_price', problems: [`must not be set for ${t.orderType} orders`] });
  }
  const trailPrice = t.trailPrice ?? null;
  const trailPercent = t.trailPercent ?? null;
  if (t.orderType === 'trailing_stop') {
    if (trailPrice === null && trailPercent === null) {
      const message = 'one of trail_price and trail_percent is required for trailing_stop orders';
      problems.push({ field: 'trail_price', problems: [message] }, { field: 'trail_percent', problems: [message] });
    } else if (trailPrice !== null && trailPercent !== null) {
      const message = 'give only one of trail_price and trail_percent';
      problems.push({ field: 'trail_price', problems: [message] }, { field: 'trail_percent', problems: [message] });
    }
  } else {
    if (trailPrice !== null) {
      problems.push({ field: 'trail_price', problems: [`must not be set for ${t.orderType} orders`] });
    }
    if (trailPercent !== null) {
      problems.push({ field: 'trail_percent', problems: [`must not be set for ${t.orderType} orders`] });
    }
  }
  if (t.extendedHours === true && (t.orderType !== 'limit' || (t.timeInForce ?? 'day') !== 'day')) {
    problems.push({ field: 'extended_hours', problems: ['is allowed only for limit orders with time_in_force day'] });
  }
  return problems;
}

/**
 * Builds the order a command asks for: the cross-field rules, the default
 * strategy and the deterministic client_order_id (a caller's own id wins).
 */
export function buildNewOrder(
  cmd: SubmitOrderCommand,
  defaults: { strategyId: string; status: OrderStatus },
  now: Date,
): NewOrder {
  const problems = orderTermProblems(cmd);
  if (problems.length) throw new InputValidationError(problems);
  const strategyId = cmd.strategyId ?? defaults.strategyId;
  const clientOrderId =
    cmd.clientOrderId ?? generateClientOrderId({ ...cmd, strategyId, at: now, idempotencyKey: cmd.idempotencyKey });
  return {
    symbol: cmd.symbol,
    side: cmd.side,
    qty: cmd.qty,
    orderType: cmd.orderType,
    limitPrice: cmd.limitPrice,
    stopPrice: cmd.stopPrice,
    timeInForce: cmd.timeInForce,
    trailPrice: cmd.trailPrice ?? null,
    trailPercent: cmd.trailPercent ?? null,
    extendedHours: cmd.extendedHours ?? false,
    orderClass: cmd.orderClass ?? 'simple',
    takeProfitLimitPrice: cmd.takeProfitLimitPrice ?? null,
    stopLossStopPrice: cmd.stopLossStopPrice ?? null,
    stopLossLimitPrice: cmd.stopLossLimitPrice ?? null,
    legType: null,
    strategyId,
    clientOrderId,
    status: defaults.status,
    createdAt: now,
    metadata: cmd.idempotencyKey ? { idempotency_key: cmd.idempotencyKey } : {},
  };
}

const TERM_FIELDS: Array<[keyof OrderTerms, string]> = [
  ['symbol', 'symbol'],
  ['side', 'side'],
  ['qty', 'qty'],
  ['orderType', 'order_type'],
  ['limitPrice', 'limit_price'],
  ['stopPrice', 'stop_price'],
  ['timeInForce', 'time_in_force'],
  ['strategyId', 'strategy_id'],
  ['trailPrice', 'trail_price'],
  ['trailPercent', 'trail_percent'],
  ['extendedHours', 'extended_hours'],
  ['orderClass', 'order_class'],
  ['takeProfitLimitPrice', 'take_profit.limit_price'],
  ['stopLossStopPrice', 'stop_loss.stop_price'],
  ['stopLossLimitPrice', 'stop_loss.limit_price'],
];

/** The optional terms with their absent value, so an absent term equals its default. */
const TERM_DEFAULTS: Partial<Record<keyof OrderTerms, unknown>> = {
  trailPrice: null,
  trailPercent: null,
  extendedHours: false,
  orderClass: 'simple',
  takeProfitLimitPrice: null,
  stopLossStopPrice: null,
  stopLossLimitPrice: null,
};

/** The API names of the terms in which two orders differ (terms are normalized, so equal values are equal strings). */
export function differingTerms(a: OrderTerms, b: OrderTerms): string[] {
  return TERM_FIELDS.filter(([k]) => (a[k] ?? TERM_DEFAULTS[k]) !== (b[k] ?? TERM_DEFAULTS[k])).map(([, name]) => name);
}

/**
 * The leg rows an order with legs is written with (docs/order-lifecycle.md#bracket-oto-and-oco-orders):
 * `<entry>-tp` / `<entry>-sl`, children of the entry, on the exit side, for the entry's quantity, in
 * the entry's status (written ahead with it). None for a simple order.
 */
export function buildLegOrders(entry: NewOrder): NewOrder[] {
  const orderClass = entry.orderClass ?? 'simple';
  const legs = legTermsOf({
    clientOrderId: entry.clientOrderId,
    orderClass,
    side: entry.side,
    takeProfit: entry.takeProfitLimitPrice ? { limitPrice: entry.takeProfitLimitPrice } : null,
    stopLoss: entry.stopLossStopPrice
      ? { stopPrice: entry.stopLossStopPrice, limitPrice: entry.stopLossLimitPrice ?? null }
      : null,
  });
  return legs.map((leg) => ({
    symbol: entry.symbol,
    side: leg.side,
    qty: entry.qty,
    orderType: leg.orderType,
    limitPrice: leg.limitPrice,
    stopPrice: leg.stopPrice,
    timeInForce: entry.timeInForce,
    strategyId: entry.strategyId,
    trailPrice: null,
    trailPercent: null,
    extendedHours: false,
    orderClass,
    takeProfitLimitPrice: null,
    stopLossStopPrice: null,
    stopLossLimitPrice: null,
    clientOrderId: leg.clientOrderId,
    status: entry.status,
    createdAt: entry.createdAt,
    metadata: { leg_of: entry.clientOrderId },
    legType: leg.legType,
    parentOrderId: entry.clientOrderId,
  }));
}
