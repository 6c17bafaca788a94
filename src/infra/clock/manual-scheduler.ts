/**
 * A Scheduler tests drive: nothing runs until `advance` moves time, which
 * then fires what is due in time order (ties in the order they were set) and
 * waits for the tasks it started. For tests only; production code never
 * imports it.
 *
 * Time is the ManualClock's, so clock readings inside a task are the time
 * the task was due. A task that sleeps on this scheduler is parked: `advance`
 * wakes it when its sleep is due within the advanced span, and otherwise
 * leaves it waiting for a later `advance` instead of hanging. A task waiting
 * on anything else (a database, a real timer) is waited for.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ManualClock } from './clock';
import { runTask, ScheduledTask, ScheduleOptions, Scheduler, TaskHandle } from './scheduler';

interface Run {
  /** Sleeps on this scheduler the run is waiting for. */
  parked: number;
  done: Promise<void>;
}

interface Entry {
  seq: number;
  due: number;
  kind: 'every' | 'after' | 'sleep';
  name?: string;
  periodMs: number;
  fire: () => void;
  /** For `every`: its run still going, if any. */
  run?: Run;
}

export interface PendingTimer {
  kind: 'every' | 'after' | 'sleep';
  name?: string;
  /** Milliseconds from now. */
  dueInMs: number;
}

export class ManualScheduler extends Scheduler {
  private entries: Entry[] = [];
  private seq = 0;
  private readonly runs = new Set<Run>();
  private readonly context = new AsyncLocalStorage<Run>();
  private readonly waiters = new Set<() => void>();
  /** Failures of scheduled tasks, oldest first (they are not thrown at the test). */
  readonly errors: unknown[] = [];

  constructor(readonly clock: ManualClock = new ManualClock()) {
    super();
  }

  nowMs(): number {
    return this.clock.now().getTime();
  }

  every(ms: number, task: ScheduledTask, opts: ScheduleOptions = {}): TaskHandle {
    const entry: Entry = {
      seq: ++this.seq,
      due: this.nowMs() + ms,
      kind: 'every',
      name: opts.name,
      periodMs: Math.max(1, ms),
      fire: () => {
        entry.due += entry.periodMs;
        this.insert(entry);
        if (entry.run) return; // still running: this one is skipped
        const run = this.start(task);
        entry.run = run;
        void run.done.then(() => {
          if (entry.run === run) entry.run = undefined;
        });
      },
    };
    this.insert(entry);
    return { cancel: () => this.remove(entry) };
  }

  after(ms: number, task: ScheduledTask, opts: ScheduleOptions = {}): TaskHandle {
    const entry: Entry = {
      seq: ++this.seq,
      due: this.nowMs() + Math.max(0, ms),
      kind: 'after',
      name: opts.name,
      periodMs: 0,
      fire: () => void this.start(task),
    };
    this.insert(entry);
    return { cancel: () => this.remove(entry) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    const run = this.context.getStore();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        if (run) run.parked -= 1;
        resolve();
      };
      const onAbort = (): void => {
        if (!this.remove(entry)) return;
        wake();
        this.notify();
      };
      const entry: Entry = {
        seq: ++this.seq,
        due: this.nowMs() + Math.max(0, ms),
        kind: 'sleep',
        periodMs: 0,
        fire: wake,
      };
      if (run) run.parked += 1;
      this.insert(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.notify();
    });
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way at its due
   * time (an `every` as often as it falls due), and waits for the tasks it
   * started, except those parked on a sleep due later.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`advance: ms must be >= 0, got ${ms}`);
    const target = this.nowMs() + ms;
    await yieldToEventLoop(); // work started outside any timer (a boot call) gets to run first
    await this.quiesce();
    for (;;) {
      const next = this.entries[0];
      if (next === undefined || next.due > target) break;
      this.entries.shift();
      if (next.due > this.nowMs()) this.clock.set(new Date(next.due));
      next.fire();
      await yieldToEventLoop();
      await this.quiesce();
    }
    if (target > this.nowMs()) this.clock.set(new Date(target));
  }

  /** Fires what is due now (after a test moved the clock itself, or a zero delay). */
  runDue(): Promise<void> {
    return this.advance(0);
  }

  /** Timers set and not yet fired or canceled, soonest first. */
  pending(): PendingTimer[] {
    const now = this.nowMs();
    return this.entries.map((e) => ({ kind: e.kind, name: e.name, dueInMs: e.due - now }));
  }

  private start(task: ScheduledTask): Run {
    const run: Run = { parked: 0, done: Promise.resolve() };
    this.runs.add(run);
    run.done = this.context
      .run(run, () => runTask(task, (err) => this.errors.push(err)))
      .finally(() => {
        this.runs.delete(run);
        this.notify();
      });
    return run;
  }

  /** Waits until every run this scheduler started has finished or is parked on a sleep. */
  private async quiesce(): Promise<void> {
    for (;;) {
      const active = [...this.runs].filter((r) => r.parked === 0);
      if (active.length === 0) return;
      await new Promise<void>((resolve) => {
        this.waiters.add(resolve);
        void Promise.race(active.map((r) => r.done)).then(resolve);
      });
    }
  }

  private notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }

  private insert(entry: Entry): void {
    let i = this.entries.length;
    while (i > 0 && compare(this.entries[i - 1], entry) > 0) i -= 1;
    this.entries.splice(i, 0, entry);
  }

  private remove(entry: Entry): boolean {
    const i = this.entries.indexOf(entry);
    if (i === -1) return false;
    this.entries.splice(i, 1);
    return true;
  }
}

function compare(a: Entry, b: Entry): number {
  return a.due - b.due || a.seq - b.seq;
}

/** Lets promise chains woken by a fired timer (and I/O callbacks) move on. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
