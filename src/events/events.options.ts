/** Tunables of the order-event publisher and stream; the defaults suit production. */
export interface OrderEventsOptions {
  /** How often each replica looks for unpublished events (kick() looks at once). */
  publishIntervalMs: number;
  /** Events claimed per transaction. */
  publishBatchSize: number;
  /** Longest wait between attempts while Redis or PostgreSQL fails. */
  publishMaxBackoffMs: number;
  /** Whether the publisher loop starts with the application. */
  startPublisher: boolean;
  /** A comment line on every open stream this often, so proxies keep it open. */
  heartbeatIntervalMs: number;
  /** Most events replayed to a resuming stream client in one connection. */
  replayLimit: number;
  /** A stream client this far behind (bytes not yet taken by its socket) is dropped; it resumes by Last-Event-ID. */
  maxBufferedBytes: number;
  /** The `retry:` advice sent to stream clients, in milliseconds. */
  clientRetryMs: number;
}

export const ORDER_EVENTS_OPTIONS = Symbol('ORDER_EVENTS_OPTIONS');

export const DEFAULT_ORDER_EVENTS_OPTIONS: OrderEventsOptions = {
  publishIntervalMs: 200,
  publishBatchSize: 100,
  publishMaxBackoffMs: 5_000,
  startPublisher: true,
  heartbeatIntervalMs: 15_000,
  replayLimit: 1_000,
  maxBufferedBytes: 1024 * 1024,
  clientRetryMs: 2_000,
};
