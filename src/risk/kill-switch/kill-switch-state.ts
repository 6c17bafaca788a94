/**
 * The kill switch's state as each replica holds it, and the pure rules the
 * order path applies to it (docs/risk-and-safety.md#fail-closed, docs/risk-and-safety.md#kill-switch).
 */
import { isConfirmedWithin, ReplicatedSnapshot } from '../../infra/state/replicated-state';

/** How old the in-memory state may be before the order path refuses to trust it (fail closed). */
export const KILL_SWITCH_MAX_AGE_MS = 1_000;
/** How often each replica re-reads the state, besides the instant change notifications. */
export const KILL_SWITCH_REFRESH_MS = 250;
/** Bound on the history returned by the status endpoint. */
export const KILL_SWITCH_HISTORY_LIMIT = 50;

export interface KillSwitchState {
  engaged: boolean;
  engagedAt: Date | null;
  engagedBy: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
  disengagedAt: Date | null;
  disengagedBy: string | null;
  /** One more per change; never goes back. */
  version: number;
}

/** What this replica knows, and when (monotonic milliseconds) it last confirmed it. */
export type KillSwitchSnapshot = ReplicatedSnapshot<KillSwitchState>;

export type KillSwitchDecision = 'allow' | 'engaged' | 'unavailable';

/**
 * Whether an order that adds exposure may pass: never on an engaged switch,
 * and never on a state older than `maxAgeMs` (or none at all), since then the
 * switch could have been engaged without this replica knowing.
 */
export function decideNewExposure(
  snapshot: KillSwitchSnapshot | null,
  nowMs: number,
  maxAgeMs = KILL_SWITCH_MAX_AGE_MS,
): KillSwitchDecision {
  if (!isConfirmedWithin(snapshot, nowMs, maxAgeMs)) return 'unavailable';
  return snapshot.state.engaged ? 'engaged' : 'allow';
}

/** The state as cached in the shared store (fallback when PostgreSQL cannot be read). */
export function serializeState(state: KillSwitchState): string {
  return JSON.stringify(state);
}

export function parseState(raw: string): KillSwitchState | null {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (typeof v.engaged !== 'boolean' || typeof v.version !== 'number') return null;
    const date = (x: unknown) => (typeof x === 'string' ? new Date(x) : null);
    const str = (x: unknown) => (typeof x === 'string' ? x : null);
    return {
      engaged: v.engaged,
      engagedAt: date(v.engagedAt),
      engagedBy: str(v.engagedBy),
      reason: str(v.reason),
      details: v.details && typeof v.details === 'object' ? (v.details as Record<string, unknown>) : null,
      disengagedAt: date(v.disengagedAt),
      disengagedBy: str(v.disengagedBy),
      version: v.version,
    };
  } catch {
    return null;
  }
}
