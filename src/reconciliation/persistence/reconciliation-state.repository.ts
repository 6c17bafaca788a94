import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Lease, sql, Tx, UnitOfWork } from '../../infra/database/unit-of-work';
import { ReconciliationStateView } from '../domain/gate';

/** Session advisory lock held for the whole of a run: two replicas never reconcile at once. */
export const RECONCILIATION_LOCK_KEY = 7_342_201;

export interface ReconciliationState extends ReconciliationStateView {
  runRequests: number;
  serving: number;
  served: number;
  lastRunDurationMs: number | null;
  consecutiveFailures: number;
  lastRunSummary: Record<string, unknown> | null;
  fillsCursor: Date | null;
  forceReason: string | null;
  /** The database's clock when this was read. */
  dbNow: Date;
  /** Some session holds the run lock. */
  lockHeld: boolean;
}

interface StateRow {
  run_requests: string;
  serving: string;
  served: string;
  last_run_started_at: Date | null;
  last_run_finished_at: Date | null;
  last_run_duration_ms: number | null;
  last_run_ok: boolean | null;
  last_error: string | null;
  last_success_at: Date | null;
  consecutive_failures: number;
  last_run_summary: Record<string, unknown> | null;
  fills_cursor: Date | null;
  force_completed_at: Date | null;
  force_completed_by: string | null;
  force_reason: string | null;
  version: string;
  db_now: Date;
  lock_held: boolean;
}

/**
 * reconciliation_state (one row): run requests and results, the fills cursor,
 * the last force-complete, the version every replica watches; and the run
 * lock.
 */
@Injectable()
export class ReconciliationStateRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
  ) {}

  async now(): Promise<Date> {
    const [row] = await sql<{ now: Date }>(this.ds, `SELECT now() AS now`);
    return row.now;
  }

  async readState(): Promise<ReconciliationState> {
    const rows = await sql<StateRow>(
      this.ds,
      `SELECT s.*, now() AS db_now,
              EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = $1
                         AND objsubid = 1 AND granted) AS lock_held
         FROM reconciliation_state s WHERE id = 1`,
      [RECONCILIATION_LOCK_KEY],
    );
    if (!rows.length) throw new Error('reconciliation_state has no row (migration missing?)');
    const r = rows[0];
    return {
      runRequests: Number(r.run_requests),
      serving: Number(r.serving),
      served: Number(r.served),
      lastRunStartedAt: r.last_run_started_at,
      lastRunFinishedAt: r.last_run_finished_at,
      lastRunDurationMs: r.last_run_duration_ms,
      lastRunOk: r.last_run_ok,
      lastError: r.last_error,
      lastSuccessAt: r.last_success_at,
      consecutiveFailures: r.consecutive_failures,
      lastRunSummary: r.last_run_summary,
      fillsCursor: r.fills_cursor,
      forceCompletedAt: r.force_completed_at,
      forceCompletedBy: r.force_completed_by,
      forceReason: r.force_reason,
      version: Number(r.version),
      dbNow: r.db_now,
      lockHeld: r.lock_held,
    };
  }

  /** Asks for a run; returns the request number a caller can wait for. */
  async requestRun(): Promise<number> {
    const rows = await sql<{ run_requests: string }>(
      this.ds,
      `UPDATE reconciliation_state SET run_requests = run_requests + 1, version = version + 1, updated_at = now()
        WHERE id = 1 RETURNING run_requests`,
    );
    return Number(rows[0].run_requests);
  }

  /**
   * Takes the run lock on a connection of its own (session level: it spans
   * the run, which must not sit in one transaction). null when another
   * session holds it; otherwise give the lease to `unlock` when done.
   */
  async tryLock(): Promise<Lease | null> {
    const lease = await this.uow.lease();
    let locked = false;
    try {
      const [row] = await sql<{ locked: boolean }>(lease, `SELECT pg_try_advisory_lock($1) AS locked`, [
        RECONCILIATION_LOCK_KEY,
      ]);
      locked = row?.locked === true;
    } finally {
      if (!locked) this.uow.release(lease);
    }
    return locked ? lease : null;
  }

  async unlock(lease: Lease): Promise<void> {
    let unlocked = false;
    try {
      await sql(lease, `SELECT pg_advisory_unlock($1)`, [RECONCILIATION_LOCK_KEY]);
      unlocked = true;
    } finally {
      // A connection that may still hold the lock is closed, not pooled: closing it frees the lock.
      this.uow.release(lease, { discard: !unlocked });
    }
  }

  /** Marks a run started; returns its start time and the request number it serves. */
  async markStarted(): Promise<{ startedAt: Date; serving: number }> {
    const rows = await sql<{ last_run_started_at: Date; serving: string }>(
      this.ds,
      `UPDATE reconciliation_state SET serving = run_requests, last_run_started_at = clock_timestamp(),
              version = version + 1, updated_at = now()
        WHERE id = 1 RETURNING last_run_started_at, serving`,
    );
    return { startedAt: rows[0].last_run_started_at, serving: Number(rows[0].serving) };
  }

  async markFinished(r: {
    serving: number;
    durationMs: number;
    ok: boolean;
    error: string | null;
    summary: Record<string, unknown>;
    fillsCursor: Date | null;
  }): Promise<void> {
    await sql(
      this.ds,
      `UPDATE reconciliation_state
          SET served = GREATEST(served, $1), last_run_finished_at = clock_timestamp(), last_run_duration_ms = $2,
              last_run_ok = $3, last_error = $4, last_run_summary = $5,
              last_success_at = CASE WHEN $3 THEN clock_timestamp() ELSE last_success_at END,
              consecutive_failures = CASE WHEN $3 THEN 0 ELSE consecutive_failures + 1 END,
              fills_cursor = GREATEST(fills_cursor, $6),
              version = version + 1, updated_at = now()
        WHERE id = 1`,
      [r.serving, r.durationMs, r.ok, r.error, JSON.stringify(r.summary), r.fillsCursor],
    );
  }

  async forceComplete(tx: Tx, operator: string, reason: string): Promise<Date> {
    const rows = await sql<{ force_completed_at: Date }>(
      tx,
      `UPDATE reconciliation_state SET force_completed_at = clock_timestamp(), force_completed_by = $1,
              force_reason = $2, version = version + 1, updated_at = now()
        WHERE id = 1 RETURNING force_completed_at`,
      [operator, reason],
    );
    return rows[0].force_completed_at;
  }

  /** Moves the fills cursor forward (never back). */
  async advanceFillsCursor(to: Date | null): Promise<void> {
    if (!to) return;
    await sql(
      this.ds,
      `UPDATE reconciliation_state SET fills_cursor = GREATEST(fills_cursor, $1), updated_at = now() WHERE id = 1`,
      [to],
    );
  }

  /** Bumps the version so every replica re-reads the blocking findings. */
  async touch(tx?: Tx): Promise<void> {
    await sql(tx ?? this.ds, `UPDATE reconciliation_state SET version = version + 1, updated_at = now() WHERE id = 1`);
  }
}
