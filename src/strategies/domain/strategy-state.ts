/**
 * Strategy trading states and the dead-man's switch, as pure rules
 * (docs/strategies-and-pnl.md#strategy-states).
 *
 * Invariants:
 * - a strategy without a row is `active`;
 * - the set of states a replica holds carries the highest version of the
 *   table, which never goes back (ReplicatedState keeps the newest);
 * - a heartbeat's deadline is the time of the last heartbeat plus its
 *   timeout; it is due when the clock reaches it, never before.
 */
import { isConfirmedWithin, ReplicatedSnapshot, Versioned } from '../../infra/state/replicated-state';
import type { StrategyStateView } from '../../risk/pipeline/pre-trade-checks';

export const STRATEGY_STATES = ['active', 'reducing', 'halted'] as const;
export type StrategyTradingState = (typeof STRATEGY_STATES)[number];

export const HEARTBEAT_MIN_SECONDS = 5;
export const HEARTBEAT_MAX_SECONDS = 3600;
export const HEARTBEAT_EXPIRED = 'HEARTBEAT_EXPIRED';

/** Same freshness as the kill switch: re-read every 250 ms, untrusted after 1 s. */
export const STRATEGY_STATE_REFRESH_MS = 250;
export const STRATEGY_STATE_MAX_AGE_MS = 1_000;

export interface StrategyStateRecord {
  strategyId: string;
  state: StrategyTradingState;
  reason: string | null;
  changedAt: Date;
  changedBy: string;
  heartbeat: { timeoutSeconds: number; lastAt: Date; expiresAt: Date } | null;
}

/** The states that are not `active` (what the order path needs), with the table's version. */
export interface StrategyStates extends Versioned {
  restricted: Record<
    string,
    { state: StrategyTradingState; reason: string | null; changedAt: Date; changedBy: string }
  >;
}

/** The pipeline's view of one strategy from the held snapshot at `nowMs` (unconfirmed: unreadable). */
export function strategyView(
  snapshot: ReplicatedSnapshot<StrategyStates> | null,
  strategyId: string,
  nowMs: number,
  maxAgeMs = STRATEGY_STATE_MAX_AGE_MS,
): StrategyStateView {
  if (!isConfirmedWithin(snapshot, nowMs, maxAgeMs)) {
    return { readable: false, state: 'halted', reason: null, changedAt: null, changedBy: null };
  }
  const r = snapshot.state.restricted[strategyId];
  if (!r) return { readable: true, state: 'active', reason: null, changedAt: null, changedBy: null };
  return { readable: true, state: r.state, reason: r.reason, changedAt: r.changedAt, changedBy: r.changedBy };
}

/** The deadline of a heartbeat sent at `now` with `timeoutSeconds`. */
export function heartbeatDeadline(now: Date, timeoutSeconds: number): Date {
  return new Date(now.getTime() + timeoutSeconds * 1000);
}

export function isHeartbeatDue(expiresAt: Date | null, now: Date): boolean {
  return expiresAt !== null && expiresAt.getTime() <= now.getTime();
}

/** Serialized for the Redis copy; null for anything that is not a state set. */
export function serializeStates(s: StrategyStates): string {
  return JSON.stringify(s);
}

export function parseStates(raw: string): StrategyStates | null {
  try {
    const v = JSON.parse(raw) as { version?: unknown; restricted?: unknown };
    if (typeof v.version !== 'number' || typeof v.restricted !== 'object' || v.restricted === null) return null;
    const restricted: StrategyStates['restricted'] = {};
    for (const [id, r] of Object.entries(v.restricted as Record<string, Record<string, unknown>>)) {
      if (!STRATEGY_STATES.includes(r.state as StrategyTradingState)) return null;
      restricted[id] = {
        state: r.state as StrategyTradingState,
        reason: typeof r.reason === 'string' ? r.reason : null,
        changedAt: new Date(String(r.changedAt)),
        changedBy: String(r.changedBy),
      };
    }
    return { version: v.version, restricted };
  } catch {
    return null;
  }
}
