/**
 * Shared fast state (kill-switch cache, rate limits, locks) and pub/sub. Redis
 * when REDIS_URL/REDIS_HOST is configured; otherwise an in-process map and
 * event emitter with the same interface, which is only correct for a single
 * replica.
 *
 * Pub/sub is fire-and-forget, as in Redis: a message reaches the subscribers
 * connected at the moment it is published and nobody else. Anything that must
 * not be lost is written to PostgreSQL first (the order-event outbox) and
 * published from there.
 */
/** The outcome of one sliding-window hit: admitted (and counted), or refused with when to retry. */
export type SlidingWindowResult = { allowed: true; count: number } | { allowed: false; retryAfterMs: number };

/** What `slidingWindowHitMany` recorded: `granted` of the hits asked for, the count after them, and (when not all were granted) the milliseconds until a slot frees up. */
export interface SlidingWindowBatch {
  granted: number;
  count: number;
  retryAfterMs: number;
}

export abstract class StateStore {
  abstract readonly mode: 'redis' | 'memory';
  abstract get(key: string): Promise<string | null>;
  /** Sets `key`; with `ttlMs` it expires. */
  abstract set(key: string, value: string, ttlMs?: number): Promise<void>;
  abstract del(key: string): Promise<void>;
  /**
   * Sets `key` to `value` with a ttl only when it is absent (or expired), in
   * one atomic step: of several callers racing on one key, across replicas
   * too, exactly one gets true. A key already present keeps its value and
   * ttl. Throws when the store cannot be reached.
   */
  abstract setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /**
   * The name `channel` has on the wire: the deployment's key prefix applies to
   * channels as it does to keys (`<prefix>orders.events`), so deployments
   * sharing a Redis never hear each other (docs/security.md#redis-channels-and-deployments).
   * `publish` and `subscribe` take the bare name and apply this themselves.
   */
  abstract channelName(channel: string): string;
  /**
   * Publishes `message` on `channel` (under the key prefix, see
   * `channelName`). Throws when the store cannot be reached (nothing is
   * queued for later).
   */
  abstract publish(channel: string, message: string): Promise<void>;
  /**
   * Publishes `messages` on `channel` in order, in one round trip: how many
   * of them, from the first, the store took, and the error that stopped the
   * rest (none when all went).
   */
  abstract publishMany(channel: string, messages: readonly string[]): Promise<{ published: number; error?: unknown }>;
  /**
   * Calls `handler` with every message published on `channel` (under the key
   * prefix, see `channelName`) from the moment the returned promise resolves;
   * resolves to a function that unsubscribes. A handler that throws does not
   * disturb the other handlers.
   *
   * Anyone who can reach the Redis can publish too: a handler treats a
   * message as a hint to read its own PostgreSQL again, never as data.
   */
  abstract subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * One atomic sliding-window-log hit on `key` at `nowMs`: hits older than
   * `windowMs` (at or before `nowMs - windowMs`) are dropped; with fewer than
   * `limit` left the hit is recorded and allowed, otherwise it is refused
   * WITHOUT being recorded, with the milliseconds until a slot frees up.
   * Throws when the store cannot be reached.
   */
  async slidingWindowHit(key: string, limit: number, windowMs: number, nowMs: number): Promise<SlidingWindowResult> {
    const r = await this.slidingWindowHitMany(key, limit, windowMs, nowMs, 1);
    return r.granted === 1 ? { allowed: true, count: r.count } : { allowed: false, retryAfterMs: r.retryAfterMs };
  }
  /**
   * Up to `hits` sliding-window-log hits on `key` at `nowMs` in one atomic
   * step: as `slidingWindowHit` called `hits` times in a row, each recorded
   * while the window has room under `limit` (so the first `granted` are
   * allowed and the rest refused unrecorded), in one round trip.
   * Throws when the store cannot be reached.
   */
  abstract slidingWindowHitMany(
    key: string,
    limit: number,
    windowMs: number,
    nowMs: number,
    hits: number,
  ): Promise<SlidingWindowBatch>;
  /** Throws when the store cannot be reached. */
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}
