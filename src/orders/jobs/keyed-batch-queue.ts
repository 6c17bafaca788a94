/**
 * Items queued under a key are handed to `run` together: while a key's batch
 * runs, later items of that key wait, and the next batch takes all of them at
 * once (at most `maxBatch`), in the order they came. Different keys run side
 * by side, up to `maxKeysRunning` at once. So a busy key costs one run per
 * batch, not one per item, and never trails further behind than one batch.
 */
export class KeyedBatchQueue<T> {
  private readonly waiting = new Map<string, T[]>();
  private readonly running = new Set<string>();
  /** Keys with items waiting for a free run slot, oldest first. */
  private readonly ready: string[] = [];
  private pending = 0;
  private readonly idle: Array<() => void> = [];
  private readonly room: Array<() => void> = [];

  constructor(
    private readonly run: (key: string, items: T[]) => Promise<void>,
    private readonly opts: { maxKeysRunning: number; maxBatch: number; maxPending: number },
  ) {}

  /** Queues `item` under `key`; resolves once queued (waiting first while `maxPending` items are queued). */
  async push(key: string, item: T): Promise<void> {
    while (this.pending >= this.opts.maxPending) await new Promise<void>((resolve) => this.room.push(resolve));
    this.pending++;
    const list = this.waiting.get(key);
    if (list) list.push(item);
    else {
      this.waiting.set(key, [item]);
      if (!this.running.has(key)) this.ready.push(key);
    }
    this.pump();
  }

  /** Resolves when nothing is queued or running. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.running.size < this.opts.maxKeysRunning && this.ready.length) {
      const key = this.ready.shift() as string;
      const list = this.waiting.get(key);
      if (!list?.length) continue;
      const batch = list.splice(0, this.opts.maxBatch);
      if (!list.length) this.waiting.delete(key);
      this.running.add(key);
      void this.run(key, batch)
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(key);
          this.pending -= batch.length;
          for (let i = 0; i < batch.length && this.room.length; i++) this.room.shift()?.();
          if (this.waiting.get(key)?.length) this.ready.push(key);
          if (this.pending === 0) for (const resolve of this.idle.splice(0)) resolve();
          this.pump();
        });
    }
  }
}
