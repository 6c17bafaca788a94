/**
 * Timers come from here, beside the Clock, so jobs, timeouts and backoffs run
 * on time a test drives (ManualScheduler) instead of time it waits for.
 *
 * Invariants (every implementation):
 * - a task's throw or rejection is logged (or recorded), never an unhandled rejection;
 * - `every` never overlaps runs of one task: a run still going when the next
 *   is due makes that one skipped, not queued;
 * - `sleep` never rejects: an aborted signal ends it early.
 */
import { Logger } from '@nestjs/common';

/** What a timer runs; a returned promise is awaited (that is what "still running" means for `every`). */
export type ScheduledTask = () => unknown;

export interface ScheduleOptions {
  /** Names the task in log lines. */
  name?: string;
}

export interface TaskHandle {
  /** No further run starts (a run under way finishes on its own). Idempotent. */
  cancel(): void;
}

export abstract class Scheduler {
  /** Runs `task` every `ms` (the first run `ms` from now) until canceled. */
  abstract every(ms: number, task: ScheduledTask, opts?: ScheduleOptions): TaskHandle;
  /** Runs `task` once, `ms` from now, unless canceled first. */
  abstract after(ms: number, task: ScheduledTask, opts?: ScheduleOptions): TaskHandle;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  abstract sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Runs a task and reports its failure to `onError`; the returned promise never rejects. */
export async function runTask(task: ScheduledTask, onError: (err: unknown) => void): Promise<void> {
  try {
    await task();
  } catch (err) {
    onError(err);
  }
}

/**
 * Node's timers. `every` and `after` are unref'd: a pending job does not keep
 * the process alive. `sleep` is not, since someone awaits it (a CLI command
 * that sleeps between retries must not exit mid-way).
 */
export class SystemScheduler extends Scheduler {
  private readonly logger = new Logger('Scheduler');

  every(ms: number, task: ScheduledTask, opts: ScheduleOptions = {}): TaskHandle {
    let running = false;
    const timer = setInterval(() => {
      if (running) return;
      running = true;
      void this.run(task, opts.name).finally(() => {
        running = false;
      });
    }, ms);
    timer.unref();
    return { cancel: () => clearInterval(timer) };
  }

  after(ms: number, task: ScheduledTask, opts: ScheduleOptions = {}): TaskHandle {
    const timer = setTimeout(() => void this.run(task, opts.name), ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private run(task: ScheduledTask, name: string | undefined): Promise<void> {
    return runTask(task, (err) => this.logger.error({ err, task: name ?? 'anonymous', msg: 'scheduled task failed' }));
  }
}

export interface Deadline {
  /** True once the time is up. */
  readonly passed: boolean;
  /** Frees the timer when the wait ends early. */
  cancel(): void;
}

/** A deadline `ms` from now on the scheduler's time (so a test's ManualScheduler moves it too). */
export function deadlineAfter(scheduler: Scheduler, ms: number): Deadline {
  let passed = false;
  const timer = scheduler.after(ms, () => {
    passed = true;
  });
  return {
    get passed() {
      return passed;
    },
    cancel: () => timer.cancel(),
  };
}
