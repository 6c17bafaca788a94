import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Tx, UnitOfWork } from '../../infra/database/unit-of-work';
import { CircuitBreakerState } from './circuit-breaker-state';

export interface CircuitBreakerEvent {
  action: 'trip' | 'reset';
  at: Date;
  operator: string;
  reasonCode: string | null;
  reason: string | null;
  notes: string | null;
}

interface StateRow {
  tripped: boolean;
  tripped_at: Date | null;
  tripped_by: string | null;
  reason_code: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
  reset_at: Date | null;
  reset_by: string | null;
  version: string;
}

function toState(r: StateRow): CircuitBreakerState {
  return {
    tripped: r.tripped,
    trippedAt: r.tripped_at,
    trippedBy: r.tripped_by,
    reasonCode: r.reason_code,
    reason: r.reason,
    details: r.details,
    resetAt: r.reset_at,
    resetBy: r.reset_by,
    version: Number(r.version),
  };
}

const STATE_COLUMNS = 'tripped, tripped_at, tripped_by, reason_code, reason, details, reset_at, reset_by, version';
const NO_ROW = 'circuit_breaker_state has no row (migration missing?)';

/**
 * circuit_breaker_state (one row, the current state), circuit_breaker_events
 * (append-only history) and circuit_breaker_equity_peaks (the day's peak equity).
 */
@Injectable()
export class CircuitBreakerRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
  ) {}

  async readState(): Promise<CircuitBreakerState> {
    const rows: StateRow[] = await this.ds.query(`SELECT ${STATE_COLUMNS} FROM circuit_breaker_state WHERE id = 1`);
    if (!rows.length) throw new Error(NO_ROW);
    return toState(rows[0]);
  }

  /** Runs `fn` in a transaction holding the state row's lock, so changes are serialized across replicas. */
  async withLockedState<T>(fn: (state: CircuitBreakerState, tx: Tx) => Promise<T>): Promise<T> {
    return this.uow.run(async (tx) => {
      const rows = await sql<StateRow>(
        tx,
        `SELECT ${STATE_COLUMNS} FROM circuit_breaker_state WHERE id = 1 FOR UPDATE`,
      );
      if (!rows.length) throw new Error(NO_ROW);
      return fn(toState(rows[0]), tx);
    });
  }

  async trip(
    tx: Tx,
    e: { operator: string; reasonCode: string; reason: string; details: Record<string, unknown> | null },
  ): Promise<CircuitBreakerState> {
    const detailsJson = e.details === null ? null : JSON.stringify(e.details);
    await sql(
      tx,
      `INSERT INTO circuit_breaker_events (action, operator, reason_code, reason, details)
       VALUES ('trip', $1, $2, $3, $4)`,
      [e.operator, e.reasonCode, e.reason, detailsJson],
    );
    const rows = await sql<StateRow>(
      tx,
      `UPDATE circuit_breaker_state
          SET tripped = true, tripped_at = now(), tripped_by = $1, reason_code = $2, reason = $3, details = $4,
              reset_at = NULL, reset_by = NULL, version = version + 1, updated_at = now()
        WHERE id = 1
    RETURNING ${STATE_COLUMNS}`,
      [e.operator, e.reasonCode, e.reason, detailsJson],
    );
    return toState(updatedRow(rows));
  }

  async reset(tx: Tx, e: { operator: string; notes: string | null }): Promise<CircuitBreakerState> {
    await sql(tx, `INSERT INTO circuit_breaker_events (action, operator, notes) VALUES ('reset', $1, $2)`, [
      e.operator,
      e.notes,
    ]);
    const rows = await sql<StateRow>(
      tx,
      `UPDATE circuit_breaker_state
          SET tripped = false, tripped_at = NULL, tripped_by = NULL, reason_code = NULL, reason = NULL,
              details = NULL, reset_at = now(), reset_by = $1, version = version + 1, updated_at = now()
        WHERE id = 1
    RETURNING ${STATE_COLUMNS}`,
      [e.operator],
    );
    return toState(updatedRow(rows));
  }

  /** Newest first. */
  async history(limit: number): Promise<CircuitBreakerEvent[]> {
    const rows: Array<{
      action: 'trip' | 'reset';
      at: Date;
      operator: string;
      reason_code: string | null;
      reason: string | null;
      notes: string | null;
    }> = await this.ds.query(
      `SELECT action, at, operator, reason_code, reason, notes FROM circuit_breaker_events ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      action: r.action,
      at: r.at,
      operator: r.operator,
      reasonCode: r.reason_code,
      reason: r.reason,
      notes: r.notes,
    }));
  }

  /**
   * Records `equity` for the UTC trade date and answers the day's peak so far
   * (this reading included). Concurrent writers cannot lower it: GREATEST under
   * the row's lock.
   */
  async recordEquity(tradeDate: string, equity: string): Promise<string> {
    const rows = await sql<{ peak: string }>(
      this.ds,
      `INSERT INTO circuit_breaker_equity_peaks (trade_date, peak_equity) VALUES ($1::date, $2::numeric)
       ON CONFLICT (trade_date) DO UPDATE
             SET peak_equity = GREATEST(circuit_breaker_equity_peaks.peak_equity, EXCLUDED.peak_equity),
                 updated_at = now()
       RETURNING peak_equity::text AS peak`,
      [tradeDate, equity],
    );
    return rows[0].peak;
  }
}

function updatedRow(rows: StateRow[]): StateRow {
  if (!rows.length) throw new Error(NO_ROW);
  return rows[0];
}
