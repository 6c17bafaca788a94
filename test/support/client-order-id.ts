/**
 * An independent rendering of the client_order_id formula of docs/api.md#client_order_id-and-idempotency, so
 * tests do not check the gateway against its own implementation.
 */
import { createHash } from 'node:crypto';

export interface ExpectedIdInput {
  symbol: string;
  side: 'buy' | 'sell';
  qty: string;
  limitPrice?: string;
  stopPrice?: string;
  strategyId?: string;
  /** YYYY-MM-DD, the UTC trade date. */
  date: string;
  idempotencyKey?: string;
}

export function expectedHashInput(i: ExpectedIdInput): string {
  const parts = [
    i.symbol,
    i.side,
    i.qty,
    i.limitPrice ?? 'None',
    i.stopPrice ?? 'None',
    i.strategyId ?? 'alpha_baseline',
    i.date,
  ];
  if (i.idempotencyKey) parts.push(i.idempotencyKey);
  return parts.join('|');
}

export function expectedClientOrderId(i: ExpectedIdInput): string {
  return createHash('sha256').update(expectedHashInput(i), 'utf8').digest('hex').slice(0, 24);
}
