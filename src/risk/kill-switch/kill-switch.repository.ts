import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Tx, UnitOfWork } from '../../infra/database/unit-of-work';
import { KillSwitchState } from './kill-switch-state';

export interface KillSwitchEvent {
  action: 'engage' | 'disengage';
  at: Date;
  operator: string;
  reason: string | null;
  notes: string | null;
}

interface StateRow {
  engaged: boolean;
  engaged_at: Date | null;
  engaged_by: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
  disengaged_at: Date | null;
  disengaged_by: string | null;
  version: string;
}

function toState(r: StateRow): KillSwitchState {
  return {
    engaged: r.engaged,
    engagedAt: r.engaged_at,
    engagedBy: r.engaged_by,
    reason: r.reason,
    details: r.details,
    disengagedAt: r.disengaged_at,
    disengagedBy: r.disengaged_by,
    version: Number(r.version),
  };
}

const STATE_COLUMNS = 'engaged, engaged_at, engaged_by, reason, details, disengaged_at, disengaged_by, version';

/** kill_switch_state (one row, the current state) and kill_switch_events (append-only history). */
@Injectable()
export class KillSwitchRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
  ) {}

  async readState(): Promise<KillSwitchState> {
    const rows: StateRow[] = await this.ds.query(`SELECT ${STATE_COLUMNS} FROM kill_switch_state WHERE id = 1`);
    if (!rows.length) throw new Error('kill_switch_state has no row (migration missing?)');
    return toState(rows[0]);
  }

  /** Runs `fn` in a transaction holding the state row's lock, so changes are serialized across replicas. */
  async withLockedState<T>(fn: (state: KillSwitchState, tx: Tx) => Promise<T>): Promise<T> {
    return this.uow.run(async (tx) => {
      const rows = await sql<StateRow>(tx, `SELECT ${STATE_COLUMNS} FROM kill_switch_state WHERE id = 1 FOR UPDATE`);
      if (!rows.length) throw new Error('kill_switch_state has no row (migration missing?)');
      return fn(toState(rows[0]), tx);
    });
  }

  async engage(
    tx: Tx,
    e: { operator: string; reason: string; details: Record<string, unknown> | null },
  ): Promise<KillSwitchState> {
    const detailsJson = e.details === null ? null : JSON.stringify(e.details);
    await sql(tx, `INSERT INTO kill_switch_events (action, operator, reason, details) VALUES ('engage', $1, $2, $3)`, [
      e.operator,
      e.reason,
      detailsJson,
    ]);
    const rows = await sql<StateRow>(
      tx,
      `UPDATE kill_switch_state
          SET engaged = true, engaged_at = now(), engaged_by = $1, reason = $2, details = $3,
              disengaged_at = NULL, disengaged_by = NULL, version = version + 1, updated_at = now()
        WHERE id = 1
    RETURNING ${STATE_COLUMNS}`,
      [e.operator, e.reason, detailsJson],
    );
    return toState(updatedRow(rows));
  }

  async disengage(tx: Tx, e: { operator: string; notes: string | null }): Promise<KillSwitchState> {
    await sql(tx, `INSERT INTO kill_switch_events (action, operator, notes) VALUES ('disengage', $1, $2)`, [
      e.operator,
      e.notes,
    ]);
    const rows = await sql<StateRow>(
      tx,
      `UPDATE kill_switch_state
          SET engaged = false, engaged_at = NULL, engaged_by = NULL, reason = NULL, details = NULL,
              disengaged_at = now(), disengaged_by = $1, version = version + 1, updated_at = now()
        WHERE id = 1
    RETURNING ${STATE_COLUMNS}`,
      [e.operator],
    );
    return toState(updatedRow(rows));
  }

  /** Newest first. */
  async history(limit: number): Promise<KillSwitchEvent[]> {
    const rows: KillSwitchEvent[] = await this.ds.query(
      `SELECT action, at, operator, reason, notes FROM kill_switch_events ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return rows;
  }
}

function updatedRow(rows: StateRow[]): StateRow {
  if (!rows.length) throw new Error('kill_switch_state has no row (migration missing?)');
  return rows[0];
}
