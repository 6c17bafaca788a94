/**
 * When the leader runs reconciliation. Pure; times are the database's.
 *
 * - a request not yet taken by a started run (counter `runRequests` above
 *   `serving`) runs at once: booting replicas, POST /run from any replica;
 *   requests made while a run is going coalesce into the next one;
 * - after a failed run, again after a backoff that doubles from 1 s up to
 *   30 s (never later than the periodic interval);
 * - otherwise every `intervalMs` after the last start.
 */
export interface ScheduleState {
  runRequests: number;
  serving: number;
  lastRunStartedAt: Date | null;
  lastRunFinishedAt: Date | null;
  lastRunOk: boolean | null;
  consecutiveFailures: number;
}

export type RunTrigger = 'requested' | 'retry' | 'periodic';

export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 30_000;

export function retryBackoffMs(failures: number, intervalMs: number): number {
  const exp = RETRY_BASE_MS * 2 ** Math.max(0, Math.min(failures - 1, 20));
  return Math.min(exp, RETRY_MAX_MS, intervalMs);
}

export function runDue(s: ScheduleState, nowMs: number, intervalMs: number): RunTrigger | null {
  if (s.runRequests > s.serving) return 'requested';
  if (!s.lastRunStartedAt) return null; // nothing asked for yet: booting replicas ask
  if (s.lastRunOk === false && s.lastRunFinishedAt) {
    if (nowMs >= s.lastRunFinishedAt.getTime() + retryBackoffMs(s.consecutiveFailures, intervalMs)) return 'retry';
  }
  if (nowMs >= s.lastRunStartedAt.getTime() + intervalMs) return 'periodic';
  return null;
}
