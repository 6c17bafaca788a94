/**
 * An order event as upstream services receive it, on Redis `orders.events` and
 * on the Server-Sent Events stream alike (docs/order-lifecycle.md#order-events).
 *
 * Delivery is at least once: the outbox row is marked published only after
 * Redis took the message, so a crash between the two publishes it again.
 * Consumers dedupe on `id`, which is the outbox row's id: unique, and
 * increasing in the order the events were written (events of one order are
 * written, and so published, in order).
 */
export const ORDER_EVENTS_CHANNEL = 'orders.events';

export interface OrderEventMessage {
  /** The outbox row id. */
  id: number;
  /** `order.status` or `order.fill`. */
  type: string;
  client_order_id: string;
  strategy_id: string;
  symbol: string;
  /** The order's status once the event applied. */
  status: string;
  /** Event-specific detail (previous status, fill qty and price, ...). */
  data: Record<string, unknown>;
  /** ISO 8601. */
  created_at: string;
}

/** A stored outbox row, as the repository reads it. */
export interface StoredOrderEvent {
  id: number;
  clientOrderId: string;
  strategyId: string;
  symbol: string;
  eventType: string;
  status: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

export function toOrderEventMessage(e: StoredOrderEvent): OrderEventMessage {
  return {
    id: e.id,
    type: e.eventType,
    client_order_id: e.clientOrderId,
    strategy_id: e.strategyId,
    symbol: e.symbol,
    status: e.status,
    data: e.payload,
    created_at: e.createdAt.toISOString(),
  };
}

/** Reads a message off the channel; anything that is not one (another writer, a corrupt payload) is undefined. */
export function parseOrderEventMessage(raw: string): OrderEventMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const m = v as Record<string, unknown>;
  const strings = ['type', 'client_order_id', 'strategy_id', 'symbol', 'status', 'created_at'] as const;
  if (typeof m.id !== 'number' || !Number.isSafeInteger(m.id) || m.id < 1) return undefined;
  if (!strings.every((k) => typeof m[k] === 'string')) return undefined;
  if (typeof m.data !== 'object' || m.data === null || Array.isArray(m.data)) return undefined;
  return v as OrderEventMessage;
}

/** Which events a subscriber sees: its own filters within its key's strategy scope. */
export interface OrderEventFilter {
  strategyId?: string;
  symbol?: string;
  /** The key's strategies; undefined when it sees all. */
  strategyScope?: readonly string[];
}

export function matchesFilter(e: Pick<OrderEventMessage, 'strategy_id' | 'symbol'>, f: OrderEventFilter): boolean {
  if (f.strategyScope && !f.strategyScope.includes(e.strategy_id)) return false;
  if (f.strategyId !== undefined && e.strategy_id !== f.strategyId) return false;
  if (f.symbol !== undefined && e.symbol !== f.symbol) return false;
  return true;
}

/** One Server-Sent Events frame for `e`: the outbox id lets a reconnecting client resume with Last-Event-ID. */
export function sseFrame(e: OrderEventMessage): string {
  // JSON.stringify escapes line breaks, so the data fits on one `data:` line.
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}
