/** DI token for the options `LeaderModule.forRoot()` hands to `LeaderElection`. */
export const LEADER_ELECTION_OPTIONS = Symbol('LEADER_ELECTION_OPTIONS');

/**
 * An arbitrary constant shared by every replica of one deployment. It differs
 * from the migration lock (7_342_001): both live in the same bigint key space.
 */
export const DEFAULT_LEADER_LOCK_KEY = 7_342_002;

export interface LeaderElectionOptions {
  /** How often a follower tries the lock and the leader checks its session. Default 2000 ms. */
  intervalMs?: number;
  /** The advisory lock key (a bigint; a safe integer here). Replicas that should elect one leader share it. */
  lockKey?: number;
  /** Bound on each database wait: connect, heartbeat, lock, unlock, close. Default max(1000, intervalMs). */
  timeoutMs?: number;
  /**
   * PostgreSQL closes this session after it has been idle this long (idle_session_timeout), freeing the lock
   * of a leader that froze or was cut off. Must exceed intervalMs + timeoutMs, so a leader that cannot reach
   * the server steps down before the server frees its lock. Default max(10000, 5 × intervalMs).
   */
  sessionIdleTimeoutMs?: number;
  /** On shutdown, how long onDemoted callbacks and running whenLeader jobs get before the lock is released. Default 5000 ms. */
  drainTimeoutMs?: number;
  /** Names this replica in logs and in pg_stat_activity.application_name. Default: random. */
  instanceId?: string;
}

export type ResolvedLeaderElectionOptions = Required<Omit<LeaderElectionOptions, 'instanceId'>>;

/** Fills in defaults and rejects settings that would break the safety argument (see leader-election.service.ts). */
export function resolveLeaderElectionOptions(options: LeaderElectionOptions = {}): ResolvedLeaderElectionOptions {
  const intervalMs = options.intervalMs ?? 2_000;
  const timeoutMs = options.timeoutMs ?? Math.max(1_000, intervalMs);
  const resolved: ResolvedLeaderElectionOptions = {
    intervalMs,
    lockKey: options.lockKey ?? DEFAULT_LEADER_LOCK_KEY,
    timeoutMs,
    sessionIdleTimeoutMs: options.sessionIdleTimeoutMs ?? Math.max(10_000, 5 * intervalMs),
    drainTimeoutMs: options.drainTimeoutMs ?? 5_000,
  };
  const errors: string[] = [];
  for (const name of ['intervalMs', 'timeoutMs', 'sessionIdleTimeoutMs'] as const) {
    if (!Number.isInteger(resolved[name]) || resolved[name] <= 0) errors.push(`${name} must be a positive integer`);
  }
  if (!Number.isInteger(resolved.drainTimeoutMs) || resolved.drainTimeoutMs < 0) {
    errors.push('drainTimeoutMs must be a non-negative integer');
  }
  if (!Number.isSafeInteger(resolved.lockKey)) errors.push('lockKey must be a safe integer');
  if (resolved.sessionIdleTimeoutMs <= resolved.intervalMs + resolved.timeoutMs) {
    errors.push('sessionIdleTimeoutMs must exceed intervalMs + timeoutMs');
  }
  if (errors.length) throw new Error(`invalid leader election options: ${errors.join('; ')}`);
  return resolved;
}
