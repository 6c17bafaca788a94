/**
 * The circuit breaker's state as each replica holds it, and the pure rules the
 * order path applies to it (docs/risk-and-safety.md#fail-closed, docs/risk-and-safety.md#circuit-breaker).
 *
 * Invariants
 * - Tripped stays tripped until a manual reset: nothing here (or anywhere)
 *   resets it automatically.
 * - A state not confirmed within the last second is unreadable: orders that
 *   add exposure are refused (fail closed).
 * - Disabled (CIRCUIT_BREAKER_ENABLED=false): never blocks, whatever is stored.
 */
import { isConfirmedWithin, ReplicatedSnapshot } from '../../infra/state/replicated-state';

/** How old the in-memory state may be before it counts as unreadable. */
export const CIRCUIT_BREAKER_MAX_AGE_MS = 1_000;
/** How often each replica re-reads the state, besides the instant change notifications. */
export const CIRCUIT_BREAKER_REFRESH_MS = 250;
/** Bound on the history returned by the status endpoint. */
export const CIRCUIT_BREAKER_HISTORY_LIMIT = 50;

/** Why it tripped: one of the automatic conditions, or an operator's hand. */
export const TRIP_REASON_CODES = ['DAILY_LOSS', 'DRAWDOWN', 'STALE_MARKET_DATA', 'BROKER_ERRORS', 'MANUAL'] as const;
export type TripReasonCode = (typeof TRIP_REASON_CODES)[number];

/** The operator recorded for automatic trips. */
export const SYSTEM_OPERATOR = 'system';

export interface CircuitBreakerState {
  tripped: boolean;
  trippedAt: Date | null;
  trippedBy: string | null;
  reason: string | null;
  reasonCode: string | null;
  details: Record<string, unknown> | null;
  resetAt: Date | null;
  resetBy: string | null;
  /** One more per change; never goes back. */
  version: number;
}

export type CircuitBreakerSnapshot = ReplicatedSnapshot<CircuitBreakerState>;

/** What the pre-trade pipeline reads on every order (synchronously, from memory). */
export interface CircuitBreakerView {
  /** false when the state was not confirmed within the last second: fail closed. */
  readable: boolean;
  tripped: boolean;
  reasonCode: string | null;
  reason: string | null;
  trippedAt: Date | null;
  trippedBy: string | null;
}

const OPEN_VIEW: CircuitBreakerView = {
  readable: true,
  tripped: false,
  reasonCode: null,
  reason: null,
  trippedAt: null,
  trippedBy: null,
};

/** The view of `snapshot` at `nowMs`. */
export function viewOf(
  snapshot: CircuitBreakerSnapshot | null,
  nowMs: number,
  enabled: boolean,
  maxAgeMs = CIRCUIT_BREAKER_MAX_AGE_MS,
): CircuitBreakerView {
  if (!enabled) return { ...OPEN_VIEW };
  if (!isConfirmedWithin(snapshot, nowMs, maxAgeMs)) {
    // The last known facts stay visible for messages, but the caller must not trust them.
    const s = snapshot?.state;
    return {
      readable: false,
      tripped: s?.tripped ?? false,
      reasonCode: s?.reasonCode ?? null,
      reason: s?.reason ?? null,
      trippedAt: s?.trippedAt ?? null,
      trippedBy: s?.trippedBy ?? null,
    };
  }
  const s = snapshot.state;
  return {
    readable: true,
    tripped: s.tripped,
    reasonCode: s.reasonCode,
    reason: s.reason,
    trippedAt: s.trippedAt,
    trippedBy: s.trippedBy,
  };
}

/** The state as cached in the shared store (fallback when PostgreSQL cannot be read). */
export function serializeState(state: CircuitBreakerState): string {
  return JSON.stringify(state);
}

export function parseState(raw: string): CircuitBreakerState | null {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (typeof v.tripped !== 'boolean' || typeof v.version !== 'number') return null;
    const date = (x: unknown) => (typeof x === 'string' ? new Date(x) : null);
    const str = (x: unknown) => (typeof x === 'string' ? x : null);
    return {
      tripped: v.tripped,
      trippedAt: date(v.trippedAt),
      trippedBy: str(v.trippedBy),
      reason: str(v.reason),
      reasonCode: str(v.reasonCode),
      details: v.details && typeof v.details === 'object' ? (v.details as Record<string, unknown>) : null,
      resetAt: date(v.resetAt),
      resetBy: str(v.resetBy),
      version: v.version,
    };
  } catch {
    return null;
  }
}
