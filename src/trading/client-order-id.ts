/**
 * Deterministic client_order_id (docs/api.md#client_order_id-and-idempotency): the first 24 hex characters of
 * SHA-256 over `symbol|side|qty|limit_price|stop_price|strategy_id|YYYY-MM-DD`,
 * then `|trail:<trail_price>|<trail_percent>` for a trailing stop and `|eh` for
 * an extended-hours order, `|<order_class>|<take_profit>|<stop_loss>` for an
 * order with legs (bracket, oto, oco; the stop-loss as `<stop_price>` or
 * `<stop_price>:<limit_price>`, an absent leg as `None`) — each absent for
 * every other order, so their ids do not change — with `|<idempotency_key>` appended when one is given. The same
 * order on the same UTC trade date is the same order.
 */
import { createHash } from 'node:crypto';

export interface ClientOrderIdInput {
  /** Normalized (trimmed, upper-case) symbol. */
  symbol: string;
  side: string;
  /** Whole shares as an integer string. */
  qty: string;
  /** Normalized decimal string (no exponent, no trailing zeros) or null. */
  limitPrice: string | null;
  stopPrice: string | null;
  strategyId: string;
  /** The instant whose UTC date is the trade date. */
  at: Date;
  idempotencyKey?: string | null;
  orderType?: string;
  trailPrice?: string | null;
  trailPercent?: string | null;
  extendedHours?: boolean;
  orderClass?: string;
  takeProfitLimitPrice?: string | null;
  stopLossStopPrice?: string | null;
  stopLossLimitPrice?: string | null;
}

export function utcTradeDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function clientOrderIdHashInput(i: ClientOrderIdInput): string {
  const base = [
    i.symbol,
    i.side,
    i.qty,
    i.limitPrice ?? 'None',
    i.stopPrice ?? 'None',
    i.strategyId,
    utcTradeDate(i.at),
  ].join('|');
  let terms = base;
  if (i.orderType === 'trailing_stop' || i.trailPrice || i.trailPercent) {
    terms += `|trail:${i.trailPrice ?? 'None'}|${i.trailPercent ?? 'None'}`;
  }
  if (i.extendedHours) terms += '|eh';
  if (i.orderClass && i.orderClass !== 'simple') {
    const sl = i.stopLossStopPrice
      ? `${i.stopLossStopPrice}${i.stopLossLimitPrice ? `:${i.stopLossLimitPrice}` : ''}`
      : 'None';
    terms += `|${i.orderClass}|${i.takeProfitLimitPrice ?? 'None'}|${sl}`;
  }
  return i.idempotencyKey ? `${terms}|${i.idempotencyKey}` : terms;
}

export function generateClientOrderId(i: ClientOrderIdInput): string {
  return createHash('sha256').update(clientOrderIdHashInput(i), 'utf8').digest('hex').slice(0, 24);
}
