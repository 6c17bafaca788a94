/**
 * The fake Alpaca's timers: exchange work scheduled after an answer (accepts,
 * fills, cancels), which whenIdle() waits for and reset() forgets, and response
 * delays, which only stop() cuts short.
 */
export class FakeTimers {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepTimers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: Array<() => void> = [];
  private pending = 0;

  /** `onError` receives what scheduled work throws. */
  constructor(private readonly onError: (err: unknown) => void) {}

  /** Resolves once every scheduled piece of work has run. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops scheduled work (not response delays) and releases whoever waits for it. */
  reset(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pending = 0;
    this.flushIdleWaiters();
  }

  /** Drops everything, response delays included (their promises never settle). */
  stop(): void {
    for (const t of [...this.timers, ...this.sleepTimers]) clearTimeout(t);
    this.timers.clear();
    this.sleepTimers.clear();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.sleepTimers.delete(t);
        resolve();
      }, ms);
      this.sleepTimers.add(t);
    });
  }

  schedule(fn: () => void, delayMs: number): void {
    this.pending += 1;
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        fn();
      } catch (err) {
        this.onError(err);
      } finally {
        this.pending -= 1;
        if (this.pending === 0) this.flushIdleWaiters();
      }
    }, delayMs);
    this.timers.add(t);
  }

  private flushIdleWaiters(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
