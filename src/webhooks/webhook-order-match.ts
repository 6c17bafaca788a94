/**
 * Which stored order a webhook may change (docs/security.md#webhooks).
 *
 * A webhook names an order twice: by our `client_order_id` and by the
 * broker's id. Both must point at the same stored order, or nothing is
 * applied:
 * - the order stored under the `client_order_id` must carry that broker id,
 *   or none yet (the webhook is then how the gateway learns it), and no other
 *   order may carry it;
 * - an order known only by the broker id, under another `client_order_id`,
 *   is a mismatch: a webhook never reaches an order through one id while
 *   naming another;
 * - neither known: the order is unknown, and nothing is invented;
 * - the one exception: a leg of a bracket / oto / oco order. The broker names
 *   a leg by a client id of its own (never the gateway's `<entry>-tp`/`-sl`),
 *   so a leg's webhook is matched by the broker id its row holds, and only
 *   when its client id names no stored order.
 */
export interface StoredIds {
  clientOrderId: string;
  brokerOrderId: string | null;
  /** Set on a leg row. */
  legType?: string | null;
}

export type WebhookMatch =
  | { kind: 'apply'; clientOrderId: string }
  | { kind: 'unknown_order' }
  | { kind: 'mismatch'; stored: Array<{ client_order_id: string; broker_order_id: string | null }> };

export function matchWebhookOrder(
  sent: { clientOrderId: string; brokerOrderId: string },
  byClientId: StoredIds | null,
  byBrokerId: StoredIds | null,
): WebhookMatch {
  if (!byClientId && !byBrokerId) return { kind: 'unknown_order' };
  if (!byClientId && byBrokerId?.legType && byBrokerId.brokerOrderId === sent.brokerOrderId) {
    return { kind: 'apply', clientOrderId: byBrokerId.clientOrderId };
  }
  const agrees =
    byClientId !== null &&
    (byClientId.brokerOrderId === null || byClientId.brokerOrderId === sent.brokerOrderId) &&
    (byBrokerId === null || byBrokerId.clientOrderId === byClientId.clientOrderId);
  if (agrees) return { kind: 'apply', clientOrderId: byClientId.clientOrderId };
  const stored = [byClientId, byBrokerId]
    .filter((o): o is StoredIds => o !== null)
    .filter((o, i, all) => all.findIndex((x) => x.clientOrderId === o.clientOrderId) === i)
    .map((o) => ({ client_order_id: o.clientOrderId, broker_order_id: o.brokerOrderId }));
  return { kind: 'mismatch', stored };
}
