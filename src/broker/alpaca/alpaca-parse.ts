/**
 * Pure mapping between Alpaca's wire/SDK objects and the broker port's types.
 *
 * Invariants:
 * - amounts are read from the raw snake_case keys the SDK keeps beside its
 *   camelCase ones (strings exactly as sent), and leave as normalized decimal
 *   strings (`150.50` → `150.5`); a JS number never carries money;
 * - statuses and events Alpaca may add later pass through unchanged;
 * - a malformed answer throws AlpacaParseError (classified `unknown_outcome`),
 *   a malformed request AlpacaRequestError (classified `rejected`, nothing sent).
 */
import type { streaming, trading } from '@alpacahq/alpaca-trade-api';
import { Decimal } from '../../common/decimal';
import type {
  BrokerAccount,
  BrokerFill,
  BrokerOrder,
  BrokerOrderRequest,
  BrokerPosition,
  BrokerReplaceRequest,
  OrderUpdate,
} from '../broker-client.port';
import type { OrderSide } from '../../trading/order-status';
import { AlpacaParseError, AlpacaRequestError } from './alpaca-errors';

type Raw = Record<string, unknown>;

const DECIMAL = /^-?\d+(\.\d+)?$/;
const EXECUTION_EVENTS = new Set(['fill', 'partial_fill']);

// --- scalars -------------------------------------------------------------------

/** Normalized decimal string, or null when absent. */
export function decimalOrNull(value: unknown, field: string): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string' && DECIMAL.test(value.trim())) return new Decimal(value.trim()).toFixed();
  throw new AlpacaParseError(`${field} is not a decimal string: ${JSON.stringify(value)}`);
}

export function requiredDecimal(value: unknown, field: string): string {
  const d = decimalOrNull(value, field);
  if (d === null) throw new AlpacaParseError(`${field} is missing`);
  return d;
}

function requiredString(value: unknown, field: string): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new AlpacaParseError(`${field} is missing`);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** From the raw RFC-3339 string (or a Date the SDK built when no raw key exists). */
export function timestampOrNull(value: unknown, field: string): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!d || Number.isNaN(d.getTime())) throw new AlpacaParseError(`${field} is not a timestamp: ${String(value)}`);
  return d;
}

function side(value: unknown, field: string): OrderSide {
  if (value === 'buy') return 'buy';
  // FILL activities report short sales as `sell_short`.
  if (value === 'sell' || value === 'sell_short') return 'sell';
  throw new AlpacaParseError(`${field} is not buy/sell: ${String(value)}`);
}

/** The SDK's models spread the wire JSON, so raw keys sit beside camelCase ones. */
function raw(o: object): Raw {
  return o as Raw;
}

function pick(o: Raw, snake: string, camel: string): unknown {
  return o[snake] !== undefined ? o[snake] : o[camel];
}

// --- from Alpaca ---------------------------------------------------------------

export function toBrokerOrder(order: trading.Order | Raw): BrokerOrder {
  const o = raw(order);
  const createdAt =
    timestampOrNull(pick(o, 'created_at', 'createdAt'), 'order.created_at') ??
    timestampOrNull(pick(o, 'submitted_at', 'submittedAt'), 'order.submitted_at');
  if (!createdAt) throw new AlpacaParseError('order.created_at is missing');
  return {
    id: requiredString(o.id, 'order.id'),
    clientOrderId: requiredString(pick(o, 'client_order_id', 'clientOrderId'), 'order.client_order_id'),
    symbol: requiredString(o.symbol, 'order.symbol'),
    side: side(o.side, 'order.side'),
    type: requiredString(o.type ?? pick(o, 'order_type', 'orderType'), 'order.type'),
    timeInForce: requiredString(pick(o, 'time_in_force', 'timeInForce'), 'order.time_in_force'),
    qty: decimalOrNull(o.qty, 'order.qty'),
    limitPrice: decimalOrNull(pick(o, 'limit_price', 'limitPrice'), 'order.limit_price'),
    stopPrice: decimalOrNull(pick(o, 'stop_price', 'stopPrice'), 'order.stop_price'),
    trailPrice: decimalOrNull(pick(o, 'trail_price', 'trailPrice'), 'order.trail_price'),
    trailPercent: decimalOrNull(pick(o, 'trail_percent', 'trailPercent'), 'order.trail_percent'),
    hwm: decimalOrNull(o.hwm, 'order.hwm'),
    status: requiredString(o.status, 'order.status'),
    filledQty: decimalOrNull(pick(o, 'filled_qty', 'filledQty'), 'order.filled_qty') ?? '0',
    filledAvgPrice: decimalOrNull(pick(o, 'filled_avg_price', 'filledAvgPrice'), 'order.filled_avg_price'),
    createdAt,
    updatedAt: timestampOrNull(pick(o, 'updated_at', 'updatedAt'), 'order.updated_at'),
    submittedAt: timestampOrNull(pick(o, 'submitted_at', 'submittedAt'), 'order.submitted_at'),
    filledAt: timestampOrNull(pick(o, 'filled_at', 'filledAt'), 'order.filled_at'),
    canceledAt: timestampOrNull(pick(o, 'canceled_at', 'canceledAt'), 'order.canceled_at'),
    replacedBy: stringOrNull(pick(o, 'replaced_by', 'replacedBy')),
    replaces: stringOrNull(o.replaces),
    ...orderClassOf(o),
  };
}

/** A bracket/oto/oco order's class and nested legs (GET with nested=true, and the POST answer). */
function orderClassOf(o: Raw): Pick<BrokerOrder, 'orderClass' | 'legs'> {
  const cls = stringOrNull(pick(o, 'order_class', 'orderClass'));
  const legs = o.legs;
  const out: Pick<BrokerOrder, 'orderClass' | 'legs'> = {};
  if (cls) out.orderClass = cls;
  if (Array.isArray(legs) && legs.length) out.legs = legs.map((leg) => toBrokerOrder(leg as Raw));
  return out;
}

/** One FILL activity; the activity id is the execution id (and the page token). */
export function toBrokerFill(activity: trading.GetAccountActivities200ResponseInner | Raw): BrokerFill {
  const a = raw(activity);
  const at = timestampOrNull(pick(a, 'transaction_time', 'transactionTime'), 'activity.transaction_time');
  if (!at) throw new AlpacaParseError('activity.transaction_time is missing');
  return {
    executionId: requiredString(a.id, 'activity.id'),
    brokerOrderId: requiredString(pick(a, 'order_id', 'orderId'), 'activity.order_id'),
    symbol: requiredString(a.symbol, 'activity.symbol'),
    side: side(a.side, 'activity.side'),
    qty: requiredDecimal(a.qty, 'activity.qty'),
    price: requiredDecimal(a.price, 'activity.price'),
    cumQty: decimalOrNull(pick(a, 'cum_qty', 'cumQty'), 'activity.cum_qty'),
    leavesQty: decimalOrNull(pick(a, 'leaves_qty', 'leavesQty'), 'activity.leaves_qty'),
    transactionTime: at,
  };
}

export function isFillActivity(activity: trading.GetAccountActivities200ResponseInner | Raw): boolean {
  return pick(raw(activity), 'activity_type', 'activityType') === 'FILL';
}

/** Position models keep no raw keys; their amounts are still the wire strings. Qty is signed (short < 0). */
export function toBrokerPosition(position: trading.Position | Raw): BrokerPosition {
  const p = raw(position);
  const qty = new Decimal(requiredDecimal(p.qty, 'position.qty'));
  const signed = p.side === 'short' && qty.gt(0) ? qty.neg() : qty;
  return {
    symbol: requiredString(p.symbol, 'position.symbol'),
    qty: signed.toFixed(),
    avgEntryPrice: requiredDecimal(pick(p, 'avg_entry_price', 'avgEntryPrice'), 'position.avg_entry_price'),
    marketValue: decimalOrNull(pick(p, 'market_value', 'marketValue'), 'position.market_value'),
    currentPrice: decimalOrNull(pick(p, 'current_price', 'currentPrice'), 'position.current_price'),
    unrealizedPl: decimalOrNull(pick(p, 'unrealized_pl', 'unrealizedPl'), 'position.unrealized_pl'),
  };
}

export function toBrokerAccount(account: trading.Account | Raw): BrokerAccount {
  const a = raw(account);
  const flag = (snake: string, camel: string): boolean => pick(a, snake, camel) === true;
  return {
    id: requiredString(a.id, 'account.id'),
    status: requiredString(a.status, 'account.status'),
    currency: stringOrNull(a.currency) ?? 'USD',
    cash: requiredDecimal(a.cash, 'account.cash'),
    equity: requiredDecimal(a.equity, 'account.equity'),
    buyingPower: requiredDecimal(pick(a, 'buying_power', 'buyingPower'), 'account.buying_power'),
    lastEquity: decimalOrNull(pick(a, 'last_equity', 'lastEquity'), 'account.last_equity'),
    longMarketValue: decimalOrNull(pick(a, 'long_market_value', 'longMarketValue'), 'account.long_market_value'),
    shortMarketValue: decimalOrNull(pick(a, 'short_market_value', 'shortMarketValue'), 'account.short_market_value'),
    tradingBlocked:
      flag('trading_blocked', 'tradingBlocked') ||
      flag('account_blocked', 'accountBlocked') ||
      flag('trade_suspended_by_user', 'tradeSuspendedByUser'),
  };
}

/**
 * A trade update from the SDK's stream. `execution` is set on fill/partial_fill
 * when the broker sent an execution_id; the OMS dedupes on it (replays happen).
 */
export function toOrderUpdate(update: streaming.TradeUpdate): OrderUpdate {
  const order = toBrokerOrder(update.order);
  const ts = update.timestamp instanceof Date && !Number.isNaN(update.timestamp.getTime()) ? update.timestamp : null;
  return withExecution(
    { event: String(update.event), order, at: ts ?? order.updatedAt ?? order.createdAt },
    update.executionId ?? (update as Raw).execution_id,
    update.qty,
    update.price,
    update.positionQty,
  );
}

/**
 * Adds the execution to a fill/partial_fill update when the broker named one
 * (the stream and webhooks alike).
 */
export function withExecution(
  update: OrderUpdate,
  executionId: unknown,
  qty: unknown,
  price: unknown,
  positionQty: unknown,
): OrderUpdate {
  if (EXECUTION_EVENTS.has(update.event) && typeof executionId === 'string' && executionId !== '') {
    update.execution = {
      executionId,
      qty: requiredDecimal(qty, 'trade_update.qty'),
      price: requiredDecimal(price, 'trade_update.price'),
      positionQty: decimalOrNull(positionQty, 'trade_update.position_qty'),
    };
  }
  return update;
}

// --- to Alpaca ------------------------------------------------------------------

function requestDecimal(value: string, field: string, opts: { positive: boolean }): string {
  if (typeof value !== 'string' || !DECIMAL.test(value.trim())) {
    throw new AlpacaRequestError(`${field} must be a decimal string, got ${JSON.stringify(value)}`);
  }
  const d = new Decimal(value.trim());
  if (opts.positive && !d.gt(0)) throw new AlpacaRequestError(`${field} must be > 0, got ${value}`);
  return d.toFixed();
}

/** POST /v2/orders body: decimal strings, our client_order_id, undefined fields omitted. */
export function toPostOrderRequest(req: BrokerOrderRequest): trading.PostOrderRequest {
  if (!req.clientOrderId || req.clientOrderId.length > 128) {
    throw new AlpacaRequestError('clientOrderId must be 1–128 characters');
  }
  const body: trading.PostOrderRequest = {
    clientOrderId: req.clientOrderId,
    symbol: req.symbol,
    side: req.side,
    type: req.type,
    timeInForce: req.timeInForce,
    qty: requestDecimal(req.qty, 'qty', { positive: true }),
  };
  if (req.limitPrice !== null) body.limitPrice = requestDecimal(req.limitPrice, 'limitPrice', { positive: true });
  if (req.stopPrice !== null) body.stopPrice = requestDecimal(req.stopPrice, 'stopPrice', { positive: true });
  if (req.trailPrice != null) body.trailPrice = requestDecimal(req.trailPrice, 'trailPrice', { positive: true });
  if (req.trailPercent != null) {
    body.trailPercent = requestDecimal(req.trailPercent, 'trailPercent', { positive: true });
  }
  if (req.extendedHours) body.extendedHours = true;
  if (req.orderClass && req.orderClass !== 'simple') {
    body.orderClass = req.orderClass;
    if (req.takeProfit) {
      body.takeProfit = {
        limitPrice: requestDecimal(req.takeProfit.limitPrice, 'takeProfit.limitPrice', { positive: true }),
      };
    }
    if (req.stopLoss) {
      body.stopLoss = { stopPrice: requestDecimal(req.stopLoss.stopPrice, 'stopLoss.stopPrice', { positive: true }) };
      if (req.stopLoss.limitPrice) {
        body.stopLoss.limitPrice = requestDecimal(req.stopLoss.limitPrice, 'stopLoss.limitPrice', { positive: true });
      }
    }
  }
  return body;
}

export function toPatchOrderRequest(req: BrokerReplaceRequest): trading.PatchOrderRequest {
  const body: trading.PatchOrderRequest = {};
  if (req.qty !== undefined) body.qty = requestDecimal(req.qty, 'qty', { positive: true });
  if (req.limitPrice !== undefined) body.limitPrice = requestDecimal(req.limitPrice, 'limitPrice', { positive: true });
  if (req.stopPrice !== undefined) body.stopPrice = requestDecimal(req.stopPrice, 'stopPrice', { positive: true });
  if (req.trail !== undefined) body.trail = requestDecimal(req.trail, 'trail', { positive: true });
  if (req.timeInForce !== undefined) body.timeInForce = req.timeInForce;
  if (req.clientOrderId !== undefined) body.clientOrderId = req.clientOrderId;
  if (Object.keys(body).length === 0) throw new AlpacaRequestError('a replace must change something');
  return body;
}

/** A positive decimal quantity for DELETE /v2/positions/{symbol}?qty=. */
export function positionCloseQty(qty: string): string {
  return requestDecimal(qty, 'qty', { positive: true });
}
