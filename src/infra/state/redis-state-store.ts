import Redis from 'ioredis';
import { StateStore } from './state-store';

/**
 * Commands fail fast instead of queueing while Redis is away, so callers can
 * fail closed (SPEC §2.5) rather than hang.
 */
export class RedisStateStore extends StateStore {
  readonly mode = 'redis' as const;

  private constructor(readonly client: Redis) {
    super();
  }

  static async connect(url: string, keyPrefix: string): Promise<RedisStateStore> {
    const client = new Redis(url, {
      keyPrefix,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      commandTimeout: 1_000,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    // ioredis emits 'error' on every failed reconnect; the health check reports it.
    client.on('error', () => undefined);
    await client.connect();
    return new RedisStateStore(client);
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.client.set(key, value);
    else await this.client.set(key, value, 'PX', ttlMs);
  }

  async del(key: string): Promise<void> {
    await this.client.del(key);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
