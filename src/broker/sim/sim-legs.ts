/**
 * The legs a submit asks for (bracket / oto / oco), validated as the broker
 * would: each class's legs, day/gtc only, an OCO a limit order. The legs trade
 * on the exit side (an OCO's own side) for the order's qty. Pure.
 */
import type { BrokerOrderRequest } from '../broker-client.port';
import { invalidRequest } from './sim-errors';
import type { SimLegRequest } from './sim-exchange';
import { NO_TRAIL, parseOrderTerms, type OrderTerms } from './sim-order';

export function parseLegs(req: BrokerOrderRequest, entry: OrderTerms): SimLegRequest | undefined {
  const orderClass = req.orderClass ?? 'simple';
  if (orderClass === 'simple') {
    if (req.takeProfit || req.stopLoss) throw invalidRequest('take_profit and stop_loss need an order_class');
    return undefined;
  }
  if (!['bracket', 'oto', 'oco'].includes(orderClass)) throw invalidRequest(`invalid order_class: ${orderClass}`);
  const tp = req.takeProfit ?? null;
  const sl = req.stopLoss ?? null;
  if ((orderClass === 'bracket' || orderClass === 'oco') && (!tp || !sl)) {
    throw invalidRequest(`${orderClass} orders require take_profit and stop_loss`);
  }
  if (orderClass === 'oto' && !tp === !sl) throw invalidRequest('oto orders require one of take_profit or stop_loss');
  if (orderClass === 'oco' && entry.type !== 'limit') throw invalidRequest('oco orders must be limit orders');
  if (entry.timeInForce !== 'day' && entry.timeInForce !== 'gtc') {
    throw invalidRequest('bracket/oto/oco orders must be day or gtc');
  }
  const side = orderClass === 'oco' ? entry.side : entry.side === 'buy' ? 'sell' : 'buy';
  const leg = (type: OrderTerms['type'], limitPrice: string | null, stopPrice: string | null): OrderTerms =>
    parseOrderTerms({
      symbol: entry.symbol,
      side,
      type,
      timeInForce: entry.timeInForce,
      qty: entry.qty.toFixed(),
      limitPrice,
      stopPrice,
      ...NO_TRAIL,
    });
  const legs: SimLegRequest['legs'] = [];
  // An OCO is itself the take-profit: its one leg is the stop-loss.
  if (tp && orderClass !== 'oco') legs.push({ legType: 'take_profit', terms: leg('limit', tp.limitPrice, null) });
  if (sl) {
    const type = sl.limitPrice ? 'stop_limit' : 'stop';
    legs.push({ legType: 'stop_loss', terms: leg(type, sl.limitPrice ?? null, sl.stopPrice) });
  }
  return { orderClass, legs };
}
