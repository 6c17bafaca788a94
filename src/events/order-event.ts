/**
 * An order event as upstream services receive it, on Redis `<prefix>orders.events`
 * and on the Server-Sent Events stream alike (docs/order-lifecycle.md#order-events).
 *
 * Delivery is at least once: the outbox row is marked published only after
 * Redis took the message, so a crash between the two publishes it again.
 * Consumers dedupe on `id`, which is the outbox row's id: unique, and
 * increasing in the order the events were written (events of one order are
 * written, and so published, in order).
 */
/** The bare name: the state store puts the deployment's key prefix on it. */
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

/**
 * The event id a message on the channel announces, or undefined when it names
 * none. Only the id is taken: the gateway's own fan-out reads the event from
 * its outbox, so whatever else a message says (a forged or foreign one
 * included) never reaches a client (docs/security.md#redis-channels-and-deployments).
 */
export function parseAnnouncedEventId(raw: string): number | undefined {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const id = (v as Record<string, unknown>).id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 1 ? id : undefined;
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
