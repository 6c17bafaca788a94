import { StateStore } from './state-store';

export class MemoryStateStore extends StateStore {
  readonly mode = 'memory' as const;
  private readonly data = new Map<string, { value: string; expiresAt?: number }>();

  async get(key: string): Promise<string | null> {
    const e = this.data.get(key);
    if (!e) return null;
    if (e.expiresAt !== undefined && e.expiresAt <= Date.now()) {
      this.data.delete(key);
      return null;
    }
    return e.value;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.data.set(key, { value, expiresAt: ttlMs === undefined ? undefined : Date.now() + ttlMs });
  }

  async del(key: string): Promise<void> {
    this.data.delete(key);
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.data.clear();
  }
}
