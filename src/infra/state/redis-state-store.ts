import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { SlidingWindowBatch, StateStore } from './state-store';

/**
 * KEYS[1] the window's sorted set; ARGV: now ms, window ms, limit, hits asked
 * for, a unique member prefix. Atomic, so replicas sharing the key share the
 * budget: hits older than the window are dropped, then as many of the hits as
 * the window has room for are added (members prefix:1, prefix:2, ...); a
 * refused hit is not added. Returns {granted, count, retry-after ms (0 when
 * all were granted)}.
 */
const SLIDING_WINDOW_MANY_LUA = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local hits = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local granted = math.min(hits, math.max(0, limit - count))
if granted > 0 then
  local args = {}
  for i = 1, granted do
    args[#args + 1] = now
    args[#args + 1] = ARGV[5] .. ':' .. i
  end
  redis.call('ZADD', key, unpack(args))
  redis.call('PEXPIRE', key, window)
  count = count + granted
end
if granted == hits then
  return {granted, count, 0}
end
local freeing = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return {granted, count, tonumber(freeing[2]) + window - now}
`;

interface SlidingWindowCommands {
  slidingWindowHitMany(
    key: string,
    nowMs: number,
    windowMs: number,
    limit: number,
    hits: number,
    member: string,
  ): Promise<[number, number, number]>;
}

type Handler = (message: string) => void;

interface ChannelState {
  handlers: Set<Handler>;
  /** Settles when Redis has confirmed the SUBSCRIBE. */
  ready: Promise<void>;
}

/**
 * Commands fail fast instead of queueing while Redis is away, so callers can
 * fail closed (docs/risk-and-safety.md#fail-closed) rather than hang.
 *
 * Pub/sub: a connection in subscriber mode can run no other command, so
 * subscriptions live on a second connection (`duplicate()` of the first),
 * opened on the first subscribe and closed with the store. One Redis
 * subscription per channel however many handlers, and ioredis re-subscribes by
 * itself after a reconnect. ioredis prefixes only a command's key arguments,
 * and PUBLISH/SUBSCRIBE have none, so the key prefix is put on channel names
 * here, in the one place every channel goes through: `orders.events` is
 * `<prefix>orders.events` on the wire.
 */
export class RedisStateStore extends StateStore {
  readonly mode = 'redis' as const;
  private subscriber?: Promise<Redis>;
  private readonly channels = new Map<string, ChannelState>();
  private closed = false;

  private constructor(
    readonly client: Redis,
    private readonly keyPrefix: string,
  ) {
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
    client.defineCommand('slidingWindowHitMany', { numberOfKeys: 1, lua: SLIDING_WINDOW_MANY_LUA });
    await client.connect();
    return new RedisStateStore(client, keyPrefix);
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) await this.client.set(key, value);
    else await this.client.set(key, value, 'PX', ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
    // SET NX PX is one atomic command: 'OK' when set, null when the key exists.
    return (await this.client.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async del(key: string): Promise<void> {
    await this.client.del(key);
  }

  channelName(channel: string): string {
    return `${this.keyPrefix}${channel}`;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.client.publish(this.channelName(channel), message);
  }

  async publishMany(channel: string, messages: readonly string[]): Promise<{ published: number; error?: unknown }> {
    if (!messages.length) return { published: 0 };
    // One pipeline: every PUBLISH in one write, the answers in order.
    const pipeline = this.client.pipeline();
    for (const message of messages) pipeline.publish(this.channelName(channel), message);
    let results: Array<[Error | null, unknown]> | null;
    try {
      results = await pipeline.exec();
    } catch (error) {
      return { published: 0, error };
    }
    if (!results) return { published: 0, error: new Error('the publish pipeline was not run') };
    const failed = results.findIndex(([err]) => err);
    return failed === -1 ? { published: messages.length } : { published: failed, error: results[failed][0] };
  }

  async subscribe(bareChannel: string, handler: Handler): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('the state store is closed');
    // Keyed and subscribed by the wire name, which is what the 'message' event reports.
    const channel = this.channelName(bareChannel);
    const sub = await this.subscriberConnection();
    // A distinct function per subscription, so the same handler subscribed twice unsubscribes one at a time.
    const entry: Handler = (message) => handler(message);
    let channelState = this.channels.get(channel);
    if (!channelState) {
      const created: ChannelState = { handlers: new Set(), ready: sub.subscribe(channel).then(() => undefined) };
      this.channels.set(channel, created);
      // A failed SUBSCRIBE forgets the channel, so the next caller tries again.
      created.ready.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
      });
      channelState = created;
    }
    channelState.handlers.add(entry);
    try {
      await channelState.ready;
    } catch (err) {
      channelState.handlers.delete(entry);
      throw err;
    }
    const subscribed = channelState;
    return async () => {
      if (!subscribed.handlers.delete(entry) || subscribed.handlers.size) return;
      if (this.channels.get(channel) !== subscribed) return;
      this.channels.delete(channel);
      if (!this.closed) await sub.unsubscribe(channel).catch(() => undefined);
    };
  }

  async slidingWindowHitMany(
    key: string,
    limit: number,
    windowMs: number,
    nowMs: number,
    hits: number,
  ): Promise<SlidingWindowBatch> {
    const client = this.client as Redis & SlidingWindowCommands;
    const [granted, count, retryAfterMs] = await client.slidingWindowHitMany(
      key,
      nowMs,
      windowMs,
      limit,
      hits,
      `${nowMs}:${randomUUID()}`,
    );
    return { granted, count, retryAfterMs };
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    const sub = await this.subscriber?.catch(() => undefined);
    if (sub) await sub.quit().catch(() => sub.disconnect());
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private subscriberConnection(): Promise<Redis> {
    this.subscriber ??= (async () => {
      const sub = this.client.duplicate();
      sub.on('error', () => undefined);
      sub.on('message', (channel: string, message: string) => {
        for (const handler of [...(this.channels.get(channel)?.handlers ?? [])]) {
          try {
            handler(message);
          } catch {
            // One subscriber's failure is its own; the others still get the message.
          }
        }
      });
      try {
        await sub.connect();
      } catch (err) {
        sub.disconnect();
        throw err;
      }
      return sub;
    })().catch((err: unknown) => {
      this.subscriber = undefined;
      throw err;
    });
    return this.subscriber;
  }
}
