/**
 * Pure rules and a small helper shared by the replicated safety states (kill
 * switch, circuit breaker, fat-finger thresholds): each replica holds the
 * state in memory, re-read on a short period and on change notifications.
 *
 * Invariants:
 * - the held state never goes back to an older version, whatever order slow
 *   reads finish in;
 * - a state not confirmed within `maxAgeMs` (or never read) is not to be
 *   trusted: the caller fails closed (SPEC §2.5).
 */

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
