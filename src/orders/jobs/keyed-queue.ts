/**
 * Runs tasks one at a time per key and up to `maxInFlight` at once across
 * keys. Broker updates of one order must be applied in the order they came;
 * updates of different orders need not wait for each other.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly maxInFlight: number) {}

  /**
   * Queues `task` behind the key's earlier tasks. Resolves once it is queued
   * (waiting first while `maxInFlight` tasks are pending), not when it has run,
   * so a producer is slowed down only when the queue is full.
   */
  async push(key: string, task: () => Promise<void>): Promise<void> {
    while (this.inFlight >= this.maxInFlight) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight++;
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run: Promise<void> = previous
      .then(task)
      .catch(() => undefined)
      .finally(() => {
        this.inFlight--;
        if (this.tails.get(key) === run) this.tails.delete(key);
        this.waiters.shift()?.();
      });
    this.tails.set(key, run);
  }

  /** Resolves when every queued task has run. */
  async drain(): Promise<void> {
    while (this.tails.size) await Promise.all([...this.tails.values()]);
  }
}
