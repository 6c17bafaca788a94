/**
 * The replicated safety states (kill switch, circuit breaker, fat-finger
 * thresholds, reconciliation gate): each replica holds the state in memory,
 * re-read from PostgreSQL on a short period and at once on a change
 * notification, with a Redis copy as the fallback source where one is kept.
 * Pure rules first, then `ReplicatedState`, the one implementation of the
 * mechanics that the services configure.
 *
 * Invariants:
 * - the held state never goes back to an older version, whatever order slow
 *   reads finish in;
 * - a state not confirmed within `maxAgeMs` (or never read) is not to be
 *   trusted: the caller fails closed (docs/risk-and-safety.md#fail-closed);
 * - reading never throws: a failed read just leaves the snapshot to age.
 */
import type { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { Scheduler, SystemScheduler, TaskHandle } from '../clock/scheduler';
import type { StateStore } from './state-store';

export interface Versioned {
  /** One more per change; never goes back. */
  version: number;
}

/** What this replica holds, and when (monotonic milliseconds) it last confirmed it. */
export interface ReplicatedSnapshot<T extends Versioned> {
  state: T;
  confirmedAt: number;
}

declare const confirmed: unique symbol;
/** A snapshot known to be confirmed recently enough (see isConfirmedWithin). */
export type ConfirmedSnapshot<T extends Versioned> = ReplicatedSnapshot<T> & { readonly [confirmed]: true };

/**
 * The snapshot after reading `state` at `nowMs`: never back to an older
 * version (a slow read that started before a change), but a read of the same
 * version confirms it is still current.
 */
export function applyVersionedRead<T extends Versioned>(
  current: ReplicatedSnapshot<T> | null,
  state: T,
  nowMs: number,
): ReplicatedSnapshot<T> {
  if (current && state.version < current.state.version) return current;
  return { state, confirmedAt: Math.max(nowMs, current?.confirmedAt ?? nowMs) };
}

/** Whether the snapshot may be trusted at `nowMs`: confirmed at most `maxAgeMs` ago. */
export function isConfirmedWithin<T extends Versioned>(
  snapshot: ReplicatedSnapshot<T> | null,
  nowMs: number,
  maxAgeMs: number,
): snapshot is ConfirmedSnapshot<T> {
  return snapshot !== null && nowMs - snapshot.confirmedAt <= maxAgeMs;
}

/**
 * Runs `read` so that concurrent refreshes share one run, and a refresh asked
 * for during a run causes exactly one more run after it (a change notified
 * mid-read is not missed). `read` should not throw; if it does, the refresh
 * still settles.
 */
export class CoalescedRefresher {
  private running?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly read: () => Promise<void>) {}

  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.read().catch(() => undefined);
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** No run starts after this; waits for the one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => undefined);
  }
}

/** The Redis copy of the state, read when PostgreSQL cannot be. */
export interface ReplicatedStateCache<T> {
  /** Key under the deployment's key prefix. */
  key: string;
  serialize(state: T): string;
  /** null for anything that is not a state. */
  parse(raw: string): T | null;
}

export interface ReplicatedStateOptions<T extends Versioned> {
  /** Names the state in log lines: `${name} ${what}: …` and `${name} change not announced …`. */
  name: string;
  what: string;
  logger: Logger;
  store: StateStore;
  /** Reads the state from PostgreSQL; throws when it cannot. */
  read(): Promise<T>;
  cache?: ReplicatedStateCache<T>;
  /**
   * "Read again" notifications (the store puts the key prefix on the name).
   * Anyone who can reach the Redis can publish, so the message carries no
   * state and its content is ignored.
   */
  channel: string;
  refreshMs: number;
  maxAgeMs: number;
  /** Called whenever a state read (or announced) becomes the one held, with the one held before. */
  onAccepted?(state: T, previous: T | undefined): void;
  /**
   * Runs the periodic refresh. Default: the system's timers, which is what the
   * services use: freshness is judged on performance.now(), so the refresh that
   * keeps a state fresh runs on real time too.
   */
  scheduler?: Scheduler;
}

/**
 * One replicated state: `start()` subscribes to the channel, reads once and
 * then every `refreshMs`; a notification reads at once. Reads go to
 * PostgreSQL, and to the Redis copy (when kept) only when PostgreSQL fails,
 * taking from it only a version at least as new as the one held, since the
 * copy may lag behind a change.
 */
export class ReplicatedState<T extends Versioned> {
  private held: ReplicatedSnapshot<T> | null = null;
  private readonly refresher = new CoalescedRefresher(() => this.readOnce());
  private timer?: TaskHandle;
  private unsubscribe?: () => Promise<void>;
  private cachedVersion = -1;
  private isStopped = false;

  constructor(private readonly o: ReplicatedStateOptions<T>) {}

  async start(): Promise<void> {
    try {
      this.unsubscribe = await this.o.store.subscribe(this.o.channel, () => void this.refresh());
    } catch (err) {
      // The periodic refresh still propagates changes, within refreshMs instead of at once.
      this.o.logger.warn(`cannot subscribe to ${this.o.channel}: ${(err as Error).message}`);
    }
    await this.refresh();
    // Not awaited: a tick during a read asks for one more read (CoalescedRefresher), as a notification does.
    this.timer = (this.o.scheduler ?? new SystemScheduler()).every(
      this.o.refreshMs,
      () => {
        void this.refresh();
      },
      { name: `${this.o.name} refresh` },
    );
  }

  async stop(): Promise<void> {
    this.isStopped = true;
    this.timer?.cancel();
    await this.unsubscribe?.().catch(() => undefined);
    await this.refresher.stop();
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  /** What this replica holds (null before the first read). */
  get snapshot(): ReplicatedSnapshot<T> | null {
    return this.held;
  }

  /** Whether the held state may be trusted now (confirmed within maxAgeMs). */
  readable(nowMs = performance.now()): boolean {
    return isConfirmedWithin(this.held, nowMs, this.o.maxAgeMs);
  }

  /**
   * Re-reads the state. Concurrent calls share one read, and a call during a
   * read causes one more after it. Never throws.
   */
  refresh(): Promise<void> {
    return this.refresher.refresh();
  }

  /** Takes `state`, read (or written) at `readStartedAt`, unless a newer version is held. */
  accept(state: T, readStartedAt = performance.now()): void {
    const previous = this.held?.state;
    this.held = applyVersionedRead(this.held, state, readStartedAt);
    if (this.held.state === state) this.o.onAccepted?.(state, previous);
  }

  /**
   * After a committed change: this replica at once, the Redis copy, then the
   * others through the channel (and the periodic read regardless). Never throws.
   */
  async announce(state: T): Promise<void> {
    this.accept(state);
    try {
      if (this.o.cache) {
        await this.o.store.set(this.o.cache.key, this.o.cache.serialize(state));
        this.cachedVersion = state.version;
      }
      await this.o.store.publish(this.o.channel, String(state.version));
    } catch (err) {
      this.notAnnounced(err);
    }
  }

  /** Tells every replica (this one included, at once) to read again. Never throws. */
  async announceReread(message: string): Promise<void> {
    await this.refresh();
    await this.o.store.publish(this.o.channel, message).catch((err: unknown) => this.notAnnounced(err));
  }

  private notAnnounced(err: unknown): void {
    this.o.logger.warn(
      `${this.o.name} change not announced (replicas see it within ${this.o.refreshMs} ms): ${(err as Error).message}`,
    );
  }

  private async readOnce(): Promise<void> {
    const startedAt = performance.now();
    const cache = this.o.cache;
    try {
      const state = await this.o.read();
      this.accept(state, startedAt);
      if (cache && state.version !== this.cachedVersion) {
        // A failed cache write only matters if PostgreSQL is later down; the next read writes again.
        await this.o.store.set(cache.key, cache.serialize(state)).then(
          () => void (this.cachedVersion = state.version),
          () => undefined,
        );
      }
      return;
    } catch (err) {
      this.o.logger.debug(`${this.o.name} ${this.o.what}: PostgreSQL read failed: ${(err as Error).message}`);
    }
    if (!cache) return;
    try {
      const raw = await this.o.store.get(cache.key);
      const state = raw === null ? null : cache.parse(raw);
      if (state && (!this.held || state.version >= this.held.state.version)) this.accept(state, startedAt);
    } catch (err) {
      this.o.logger.debug(`${this.o.name} ${this.o.what}: Redis read failed: ${(err as Error).message}`);
    }
  }
}
