/**
 * One outbound budget for trading calls to the broker, shared by every
 * replica (docs/broker-pacing.md): a sliding-window log in the state store
 * (Redis, or in-process without it). A call waits here for a slot; waiting
 * calls are served cancels first, then submissions, then reads, oldest first
 * within a class, and a tenth of the budget is kept for cancels
 * (cancelReserve): a burst of submissions that fills its share still leaves a
 * cancel room at once. A broker 429 shrinks the budget for one window, for
 * every replica.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Clock } from '../../infra/clock/clock';
import { Scheduler, TaskHandle } from '../../infra/clock/scheduler';
import { StateStore } from '../../infra/state/state-store';
import { BrokerError } from '../broker-client.port';
import {
  budgetInForce,
  classLimit,
  mayGoAhead,
  nextToServe,
  PACE_CLASSES,
  PaceClass,
  shrunkBudget,
  Waiting,
} from './pacing.decision';

/** Shared keys (under the deployment's key prefix). */
export const PACE_KEY = 'broker:pace';
export const PACE_SHRINK_KEY = 'broker:pace:shrink';
/** Slack on the window for the time a request spends in transit, so the broker never counts more than the budget. */
export const PACE_TRANSIT_SLACK_MS = 250;

export interface PacingMetrics {
  pacingQueueDepth(cls: PaceClass, depth: number): void;
  pacingBudgetUsed(used: number, budget: number): void;
  pacingWait(cls: PaceClass, seconds: number): void;
  pacingRateLimited(): void;
}

export interface BrokerPacerOptions {
  /** Trading calls allowed in any window. */
  budget: number;
  windowMs: number;
  store: StateStore;
  clock: Clock;
  scheduler: Scheduler;
  metrics?: PacingMetrics;
}

interface Waiter extends Waiting {
  since: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** A `tryAcquire` in line only for the store's answer: told, instead of waiting, that the budget is spent. */
  giveUp?: () => void;
}

/**
 * How long one read of the shrunk budget (PACE_SHRINK_KEY) serves: a 429 met by
 * another replica shrinks this one's budget at most this much later (its own,
 * at once).
 */
export const PACE_SHRINK_READ_MS = 100;

/** At most this many waiters of one class are asked for at once (one round trip to the store for them all). */
const PUMP_BATCH = 64;

interface PaceContext {
  /** Calls inside are served as this class (e.g. the lookup a cancel makes is a cancel). */
  cls?: PaceClass;
  /** A slot already taken: the first paced call inside uses it. */
  slot?: { used: boolean };
}

export class BrokerPacer {
  readonly budget: number;
  readonly windowMs: number;
  private readonly waiting: Waiter[] = [];
  private readonly context = new AsyncLocalStorage<PaceContext>();
  private seq = 0;
  private pumping = false;
  private timer?: TaskHandle;
  private closed = false;
  private used = 0;
  private lastBudget: number;
  /** The last read of the shrunk budget, and when it was made (PACE_SHRINK_READ_MS). */
  private shrinkRead?: { at: number; value: Promise<string | null> };

  constructor(private readonly opts: BrokerPacerOptions) {
    if (!Number.isInteger(opts.budget) || opts.budget < 1) throw new RangeError('budget must be a positive integer');
    this.budget = opts.budget;
    this.windowMs = opts.windowMs;
    this.lastBudget = opts.budget;
  }

  /** Waiting calls on this replica, by class. */
  backlog(): Record<PaceClass, number> {
    const out = { cancel: 0, submit: 0, read: 0 };
    for (const w of this.waiting) out[w.cls] += 1;
    return out;
  }

  /** Calls counted in the current window when this replica last looked, and the budget then in force. */
  usage(): { used: number; budget: number } {
    return { used: this.used, budget: this.lastBudget };
  }

  /** Resolves when a call of `cls` may go to the broker (its slot counted). */
  acquire(cls: PaceClass): Promise<void> {
    const ctx = this.context.getStore();
    if (ctx?.slot && !ctx.slot.used) {
      ctx.slot.used = true;
      return Promise.resolve();
    }
    const served = ctx?.cls ?? cls;
    if (this.closed) return Promise.reject(unavailable('the broker pacer is closed'));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ cls: served, seq: ++this.seq, since: this.nowMs(), resolve, reject });
      this.depths();
      // While a timer waits for the window to slide, a new caller need not ask the store again,
      // unless it is a cancel: the reserve may have room for it when the others' share has none.
      if (!this.timer || served === 'cancel') void this.pump();
    });
  }

  /**
   * A slot for a call of `cls` now, if no call of its class or a higher one
   * is waiting and the budget has room: true when taken (use it with
   * `withSlot`), false otherwise (nothing counted).
   */
  async tryAcquire(cls: PaceClass): Promise<boolean> {
    if (this.closed) return false;
    // The budget is known spent until the window slides: wait elsewhere (the caller queues the call).
    if (this.timer && !mayGoAhead(cls, this.waiting)) return false;
    // In line for the store's answer, which serves many calls per round trip: oldest first still holds,
    // and it is told false if the budget turns out to be spent.
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({
        cls,
        seq: ++this.seq,
        since: this.nowMs(),
        resolve: () => resolve(true),
        reject,
        giveUp: () => resolve(false),
      });
      this.depths();
      void this.pump();
    });
  }

  /**
   * Whether a call of `cls` would be told no by `tryAcquire` without asking the store: the budget is known
   * spent until the window slides and calls of its class (or a higher one) wait, or the pacer is closed.
   */
  spent(cls: PaceClass): boolean {
    return this.closed || (this.timer !== undefined && !mayGoAhead(cls, this.waiting));
  }

  /** Runs `fn` with a slot taken by tryAcquire: its first paced call uses it. */
  withSlot<T>(fn: () => Promise<T>): Promise<T> {
    return this.context.run({ ...this.context.getStore(), slot: { used: false } }, fn);
  }

  /** Runs `fn` with its calls served as `cls` (a cancel's own lookups go with the cancels). */
  as<T>(cls: PaceClass, fn: () => Promise<T>): Promise<T> {
    return this.context.run({ cls }, fn);
  }

  /** The broker answered 429: the budget shrinks for one window, for every replica. */
  async rateLimited(): Promise<void> {
    this.opts.metrics?.pacingRateLimited();
    const current = await this.opts.store.get(PACE_SHRINK_KEY).catch(() => null);
    const shrunk = shrunkBudget(this.budget, current === null ? null : Number(current));
    await this.opts.store.set(PACE_SHRINK_KEY, String(shrunk), this.windowMs).catch(() => undefined);
    this.shrinkRead = { at: this.nowMs(), value: Promise.resolve(String(shrunk)) };
    this.lastBudget = shrunk;
    this.opts.metrics?.pacingBudgetUsed(this.used, shrunk);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    for (const w of this.waiting.splice(0)) {
      if (w.giveUp) w.giveUp();
      else w.reject(unavailable('the broker pacer is closed'));
    }
    this.depths();
  }

  private nowMs(): number {
    return this.opts.clock.now().getTime();
  }

  /**
   * Up to `n` calls of `cls` counted in the shared window, as many as it has room for that class (cancels may
   * use the reserve), in one round trip to the store (and one read of the shrunk budget).
   */
  private async hit(cls: PaceClass, n: number): Promise<{ granted: number; retryAfterMs: number }> {
    const shrink = await this.shrink();
    const budget = budgetInForce(this.budget, shrink === null ? null : Number(shrink));
    this.lastBudget = budget;
    const r = await this.opts.store.slidingWindowHitMany(
      PACE_KEY,
      classLimit(cls, budget),
      this.windowMs + PACE_TRANSIT_SLACK_MS,
      this.nowMs(),
      n,
    );
    this.used = r.granted < n ? classLimit(cls, budget) : r.count;
    this.opts.metrics?.pacingBudgetUsed(this.used, budget);
    return r;
  }

  /** The shrunk budget in the store (null when none), read at most every PACE_SHRINK_READ_MS. */
  private shrink(): Promise<string | null> {
    const now = this.nowMs();
    if (this.shrinkRead && now - this.shrinkRead.at < PACE_SHRINK_READ_MS) return this.shrinkRead.value;
    const value = this.opts.store.get(PACE_SHRINK_KEY);
    this.shrinkRead = { at: now, value };
    // A failed read is not kept: the next hit asks again.
    value.catch(() => {
      if (this.shrinkRead?.value === value) this.shrinkRead = undefined;
    });
    return value;
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      while (this.waiting.length && !this.closed) {
        // The class served next, and as many of its waiters as one batch of the store's answers covers.
        const cls = this.waiting[nextToServe(this.waiting)].cls;
        const n = Math.min(PUMP_BATCH, this.waiting.filter((w) => w.cls === cls).length);
        let hits: { granted: number; retryAfterMs: number };
        try {
          hits = await this.hit(cls, n);
        } catch (err) {
          // The shared budget cannot be read. Submissions and reads do not go out uncounted: they fail
          // retryably and are retried later. Cancels go out: a cancel only lowers exposure, and the worst
          // an uncounted call meets is the broker's 429 (retryable). Refusing them would leave orders live
          // at the broker, kill switch included, for as long as Redis is down.
          for (const w of this.waiting.splice(0)) {
            if (w.cls === 'cancel') w.resolve();
            else w.reject(unavailable(`broker budget unavailable: ${String(err)}`));
          }
          break;
        }
        // Each slot granted serves the next waiter of the class, oldest first.
        for (let granted = hits.granted; granted > 0; granted -= 1) {
          // Closed while the hits were in flight: every waiter was already refused.
          if (this.closed) break;
          const i = nextOfClass(this.waiting, cls);
          if (i < 0) break;
          const [w] = this.waiting.splice(i, 1);
          this.opts.metrics?.pacingWait(w.cls, (this.nowMs() - w.since) / 1000);
          w.resolve();
        }
        if (hits.granted < n) {
          // The budget is spent: a tryAcquire in line is told so (its caller queues the call elsewhere).
          for (let i = this.waiting.length - 1; i >= 0; i -= 1) {
            const w = this.waiting[i];
            if (!w.giveUp) continue;
            this.waiting.splice(i, 1);
            w.giveUp();
          }
          this.timer?.cancel();
          this.timer = this.opts.scheduler.after(
            Math.max(5, hits.retryAfterMs),
            () => {
              this.timer = undefined;
              return this.pump();
            },
            { name: 'broker-pacing' },
          );
          break;
        }
      }
    } finally {
      this.pumping = false;
      this.depths();
    }
    // A caller that arrived while the last hit was in flight, with no timer set, is served now.
    if (this.waiting.length && !this.timer && !this.closed) void this.pump();
  }

  private depths(): void {
    const b = this.backlog();
    for (const cls of PACE_CLASSES) this.opts.metrics?.pacingQueueDepth(cls, b[cls]);
  }
}

/** The index of the oldest waiter of `cls`. */
function nextOfClass(waiting: readonly Waiting[], cls: PaceClass): number {
  let best = -1;
  for (let i = 0; i < waiting.length; i++) {
    if (waiting[i].cls === cls && (best < 0 || waiting[i].seq < waiting[best].seq)) best = i;
  }
  return best;
}

function unavailable(message: string): BrokerError {
  return new BrokerError('retryable', message, { retryAfterMs: 1_000 });
}
