/**
 * Alpaca order webhooks carry a `trade_updates` message's `data` as plain wire
 * JSON (snake_case, decimal strings, RFC 3339 timestamps):
 * `{event, execution_id, order, timestamp, price, qty, position_qty}`.
 */
import type { OrderUpdate } from '../broker-client.port';
import { timestampOrNull, toBrokerOrder, withExecution } from './alpaca-parse';

export class WebhookPayloadError extends Error {}

export function parseAlpacaWebhook(body: unknown): OrderUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new WebhookPayloadError('body must be a JSON object');
  }
  const data = body as Record<string, unknown>;
  if (typeof data.event !== 'string' || data.event === '') throw new WebhookPayloadError('event must be a string');
  if (typeof data.order !== 'object' || data.order === null) throw new WebhookPayloadError('order must be an object');
  try {
    const order = toBrokerOrder(data.order as Record<string, unknown>);
    const at = timestampOrNull(data.timestamp, 'timestamp') ?? order.updatedAt ?? order.createdAt;
    return withExecution({ event: data.event, order, at }, data.execution_id, data.qty, data.price, data.position_qty);
  } catch (err) {
    throw new WebhookPayloadError((err as Error).message);
  }
}
