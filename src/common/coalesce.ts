/**
 * Runs one task at a time and shares its result between callers, without
 * ever answering a caller with a run that started before it called: a
 * caller that arrives while a run is in progress waits for the next run,
 * which starts when the current one ends and is shared by everyone who
 * arrived meanwhile. So under N concurrent callers the task runs at most
 * twice per "generation", and every answer reflects what was true after
 * its caller arrived.
 *
 * A failed run rejects exactly the callers that shared it; the next call
 * starts afresh.
 */
export class Coalescer<T> {
  private running: Promise<T> | null = null;
  private next: Promise<T> | null = null;

  constructor(private readonly task: () => Promise<T>) {}

  run(): Promise<T> {
    if (!this.running) return this.start();
    if (!this.next) {
      const after = this.running.then(
        () => undefined,
        () => undefined,
      );
      this.next = after.then(() => {
        this.next = null;
        return this.start();
      });
    }
    return this.next;
  }

  private start(): Promise<T> {
    const p = Promise.resolve()
      .then(this.task)
      .finally(() => {
        if (this.running === p) this.running = null;
      });
    this.running = p;
    return p;
  }
}
