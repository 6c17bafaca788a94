/**
 * The order as the gateway keeps it, and the rules a new order must satisfy
 * whatever sent it (HTTP, a TWAP slice, a manual control).
 */
import { FieldProblem, InputValidationError } from '../common/domain-error';
import { generateClientOrderId } from './client-order-id';
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
}

export interface SubmitOrderCommand extends Omit<OrderTerms, 'strategyId'> {
  strategyId?: string;
  clientOrderId?: string;
  idempotencyKey?: string;
}

export interface NewOrder extends OrderTerms {
  clientOrderId: string;
  status: OrderStatus;
  createdAt: Date;
  metadata: Record<string, unknown>;
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
}

/** Rules across fields: which prices each order type needs and forbids. */
export function orderTermProblems(t: Pick<OrderTerms, 'orderType' | 'limitPrice' | 'stopPrice'>): FieldProblem[] {
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
];

/** The API names of the terms in which two orders differ (terms are normalized, so equal values are equal strings). */
export function differingTerms(a: OrderTerms, b: OrderTerms): string[] {
  return TERM_FIELDS.filter(([k]) => a[k] !== b[k]).map(([, name]) => name);
}
