import { EventEmitter } from 'node:events';
import { Clock, SystemClock } from '../clock/clock';
import { SlidingWindowBatch, StateStore } from './state-store';

export class MemoryStateStore extends StateStore {
  readonly mode = 'memory' as const;
  private readonly data = new Map<string, { value: string; expiresAt?: number }>();
  private readonly channels = new EventEmitter().setMaxListeners(0);
  /** Sliding-window logs: hit times, oldest first. */
  private readonly windows = new Map<string, number[]>();

  /** `clock`: when keys expire (tests pass a ManualClock). */
  constructor(private readonly clock: Clock = new SystemClock()) {
    super();
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  async get(key: string): Promise<string | null> {
    const e = this.data.get(key);
    if (!e) return null;
    if (e.expiresAt !== undefined && e.expiresAt <= this.nowMs()) {
      this.data.delete(key);
      return null;
    }
    return e.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.data.set(key, { value, expiresAt: ttlMs === undefined ? undefined : this.nowMs() + ttlMs });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    // Checked and set without yielding in between, so concurrent callers cannot both win.
    const e = this.data.get(key);
    if (e && (e.expiresAt === undefined || e.expiresAt > this.nowMs())) return false;
    this.data.set(key, { value, expiresAt: this.nowMs() + ttlMs });
    return true;
  }

  async del(key: string): Promise<void> {
    this.data.delete(key);
  }

  /** In-process, so nothing is shared with another deployment: names stay as given. */
  channelName(channel: string): string {
    return channel;
  }

  /** Delivered on a later tick, as over a connection: a publisher never runs its subscribers' code inline. */
  async publish(channel: string, message: string): Promise<void> {
    const handlers = this.channels.listeners(channel) as Array<(message: string) => void>;
    if (!handlers.length) return;
    setImmediate(() => {
      for (const handler of handlers) deliver(handler, message);
    });
  }

  async publishMany(channel: string, messages: readonly string[]): Promise<{ published: number; error?: unknown }> {
    for (const message of messages) await this.publish(channel, message);
    return { published: messages.length };
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    // A distinct function per subscription, so subscribing the same handler twice unsubscribes one at a time.
    const listener = (message: string) => handler(message);
    this.channels.on(channel, listener);
    return async () => {
      this.channels.off(channel, listener);
    };
  }

  async slidingWindowHitMany(
    key: string,
    limit: number,
    windowMs: number,
    nowMs: number,
    hits: number,
  ): Promise<SlidingWindowBatch> {
    const window = (this.windows.get(key) ?? []).filter((t) => t > nowMs - windowMs);
    const granted = Math.min(hits, Math.max(0, limit - window.length));
    for (let i = 0; i < granted; i++) window.push(nowMs);
    window.sort((a, b) => a - b);
    this.windows.set(key, window);
    const retryAfterMs = granted < hits ? window[window.length - limit] + windowMs - nowMs : 0;
    return { granted, count: window.length, retryAfterMs };
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.data.clear();
    this.windows.clear();
    this.channels.removeAllListeners();
  }
}

function assertTtl(ttlMs: number): void {
  // Redis refuses a non-positive or fractional PX as well; both stores fail alike.
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
}

function deliver(handler: (message: string) => void, message: string): void {
  try {
    handler(message);
  } catch {
    // One subscriber's failure is its own; the others still get the message.
  }
}
