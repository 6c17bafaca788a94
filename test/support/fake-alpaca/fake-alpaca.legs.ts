/**
 * A POST /v2/orders body's order class and legs (bracket / oto / oco), checked as Alpaca does; the
 * order's own fields are checked by the order book.
 */
import { parseDecimal } from './fake-alpaca.values';
import type { NewOrderFields } from './fake-alpaca.order-book';
import { validationError, type WireOrder, type WireResponse } from './fake-alpaca.wire';

const ORDER_CLASSES = new Set(['simple', '', 'bracket', 'oto', 'oco']);

export interface WireLegs {
  orderClass: string;
  takeProfit: string | null;
  stopLoss: { stop: string; limit: string | null } | null;
}

/** order_class with take_profit / stop_loss, checked as Alpaca does (the order's own fields are checked above). */
export function parseLegs(b: Record<string, unknown>): WireLegs | WireResponse {
  const orderClass = b.order_class == null || b.order_class === '' ? 'simple' : b.order_class;
  if (typeof orderClass !== 'string' || !ORDER_CLASSES.has(orderClass)) return validationError('invalid order_class');
  const tpRaw = b.take_profit as Record<string, unknown> | undefined | null;
  const slRaw = b.stop_loss as Record<string, unknown> | undefined | null;
  if (orderClass === 'simple') {
    return { orderClass, takeProfit: null, stopLoss: null };
  }
  const tp = tpRaw == null ? undefined : parseDecimal(tpRaw.limit_price);
  const stop = slRaw == null ? undefined : parseDecimal(slRaw.stop_price);
  const slLimit = slRaw?.limit_price == null ? undefined : parseDecimal(slRaw.limit_price);
  if (tpRaw != null && !(tp && tp.gt(0))) return validationError('take_profit.limit_price must be > 0');
  if (slRaw != null && !(stop && stop.gt(0))) return validationError('stop_loss.stop_price must be > 0');
  if (slRaw?.limit_price != null && !(slLimit && slLimit.gt(0))) {
    return validationError('stop_loss.limit_price must be > 0');
  }
  if ((orderClass === 'bracket' || orderClass === 'oco') && (!tp || !stop)) {
    return validationError(`${orderClass} orders require take_profit and stop_loss`);
  }
  if (orderClass === 'oto' && !tp === !stop)
    return validationError('oto orders require one of take_profit or stop_loss');
  if (orderClass === 'oco' && b.type !== 'limit') return validationError('oco orders must be limit orders');
  if (b.time_in_force !== 'day' && b.time_in_force !== 'gtc') {
    return validationError('bracket/oto/oco orders must be day or gtc');
  }
  return {
    orderClass,
    takeProfit: tp ? tp.toFixed() : null,
    stopLoss: stop ? { stop: stop.toFixed(), limit: slLimit ? slLimit.toFixed() : null } : null,
  };
}

/**
 * The legs of a fresh order, take-profit first: on the exit side (an OCO's own side), for the parent's
 * qty, held until a bracket/OTO entry fills (an OCO's leg works at once). An OCO is its own take-profit.
 */
export function legOrders(parent: WireOrder, legs: WireLegs): Array<Omit<NewOrderFields, 'clientOrderId'>> {
  const oco = legs.orderClass === 'oco';
  const fields = {
    symbol: parent.symbol,
    side: oco ? parent.side : parent.side === 'buy' ? 'sell' : 'buy',
    timeInForce: parent.time_in_force,
    qty: parent.qty,
    notional: null,
    trailPrice: null,
    trailPercent: null,
    extendedHours: false,
    orderClass: legs.orderClass,
    status: oco ? 'new' : 'held',
  };
  const out: Array<Omit<NewOrderFields, 'clientOrderId'>> = [];
  if (legs.takeProfit && !oco) out.push({ ...fields, type: 'limit', limitPrice: legs.takeProfit, stopPrice: null });
  if (legs.stopLoss) {
    const type = legs.stopLoss.limit ? 'stop_limit' : 'stop';
    out.push({ ...fields, type, limitPrice: legs.stopLoss.limit, stopPrice: legs.stopLoss.stop });
  }
  return out;
}
