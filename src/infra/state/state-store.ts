/**
 * Shared fast state (kill-switch cache, rate limits, locks). Redis when
 * REDIS_URL/REDIS_HOST is configured; otherwise an in-process map with the same
 * interface, which is only correct for a single replica.
 */
export abstract class StateStore {
  abstract readonly mode: 'redis' | 'memory';
  abstract get(key: string): Promise<string | null>;
  /** Sets `key`; with `ttlMs` it expires. */
  abstract set(key: string, value: string, ttlMs?: number): Promise<void>;
  abstract del(key: string): Promise<void>;
  /** Throws when the store cannot be reached. */
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
}
