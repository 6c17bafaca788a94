import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Tx, UnitOfWork } from '../../infra/database/unit-of-work';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { StrategyStateRecord, StrategyStates, StrategyTradingState } from '../domain/strategy-state';

/** Open orders a cancel-all still has to ask for (one being canceled already is on its way). */
const CANCELABLE_LIST = [...OPEN_STATUSES]
  .filter((s) => s !== 'pending_cancel')
  .map((s) => `'${s}'`)
  .join(', ');

interface Row {
  strategy_id: string;
  state: StrategyTradingState;
  reason: string | null;
  changed_at: Date;
  changed_by: string;
  heartbeat_timeout_seconds: number | null;
  heartbeat_last_at: Date | null;
  heartbeat_expires_at: Date | null;
}

const COLUMNS = `strategy_id, state, reason, changed_at, changed_by, heartbeat_timeout_seconds, heartbeat_last_at,
  heartbeat_expires_at`;

function toRecord(r: Row): StrategyStateRecord {
  return {
    strategyId: r.strategy_id,
    state: r.state,
    reason: r.reason,
    changedAt: r.changed_at,
    changedBy: r.changed_by,
    heartbeat:
      r.heartbeat_timeout_seconds !== null && r.heartbeat_expires_at !== null
        ? {
            timeoutSeconds: r.heartbeat_timeout_seconds,
            lastAt: r.heartbeat_last_at ?? r.changed_at,
            expiresAt: r.heartbeat_expires_at,
          }
        : null,
  };
}

/** strategy_states: one row per strategy given a state or a heartbeat; changes under the row's lock. */
@Injectable()
export class StrategyStateRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
  ) {}

  /** The non-active states and the table's version (what every replica holds). */
  async readStates(): Promise<StrategyStates> {
    const [rows, [{ version }]] = await Promise.all([
      this.ds.query(
        `SELECT strategy_id, state, reason, changed_at, changed_by FROM strategy_states WHERE state <> 'active'`,
      ) as Promise<Row[]>,
      this.ds.query(`SELECT COALESCE(MAX(version), 0)::text AS version FROM strategy_states`) as Promise<
        Array<{ version: string }>
      >,
    ]);
    const restricted: StrategyStates['restricted'] = {};
    for (const r of rows) {
      restricted[r.strategy_id] = {
        state: r.state,
        reason: r.reason,
        changedAt: r.changed_at,
        changedBy: r.changed_by,
      };
    }
    return { version: Number(version), restricted };
  }

  async find(strategyId: string): Promise<StrategyStateRecord | null> {
    const rows: Row[] = await this.ds.query(`SELECT ${COLUMNS} FROM strategy_states WHERE strategy_id = $1`, [
      strategyId,
    ]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async findMany(strategyIds: readonly string[] | undefined): Promise<StrategyStateRecord[]> {
    const rows: Row[] = strategyIds
      ? await this.ds.query(`SELECT ${COLUMNS} FROM strategy_states WHERE strategy_id = ANY($1)`, [strategyIds])
      : await this.ds.query(`SELECT ${COLUMNS} FROM strategy_states`);
    return rows.map(toRecord);
  }

  /** Runs `fn` holding the strategy's row lock (the row created active if new). */
  async withLocked<T>(
    strategyId: string,
    actor: string,
    fn: (current: StrategyStateRecord, tx: Tx) => Promise<T>,
  ): Promise<T> {
    return this.uow.run(async (tx) => {
      await sql(
        tx,
        `INSERT INTO strategy_states (strategy_id, changed_by, version)
         VALUES ($1, $2, nextval('strategy_state_version')) ON CONFLICT (strategy_id) DO NOTHING`,
        [strategyId, actor],
      );
      const rows = await sql<Row>(tx, `SELECT ${COLUMNS} FROM strategy_states WHERE strategy_id = $1 FOR UPDATE`, [
        strategyId,
      ]);
      return fn(toRecord(rows[0]), tx);
    });
  }

  /** Sets the state (a new version); `clearHeartbeat` disarms the dead-man's switch too. */
  async setState(
    tx: Tx,
    strategyId: string,
    s: { state: StrategyTradingState; reason: string | null; by: string; at: Date; clearHeartbeat?: boolean },
  ): Promise<StrategyStateRecord> {
    const rows = await sql<Row>(
      tx,
      `UPDATE strategy_states
          SET state = $2, reason = $3, changed_by = $4, changed_at = $5, version = nextval('strategy_state_version')
              ${s.clearHeartbeat ? ', heartbeat_timeout_seconds = NULL, heartbeat_expires_at = NULL' : ''}
        WHERE strategy_id = $1 RETURNING ${COLUMNS}`,
      [strategyId, s.state, s.reason, s.by, s.at],
    );
    return toRecord(rows[0]);
  }

  async setHeartbeat(
    tx: Tx,
    strategyId: string,
    hb: { timeoutSeconds: number; lastAt: Date; expiresAt: Date } | null,
  ): Promise<StrategyStateRecord> {
    const rows = await sql<Row>(
      tx,
      `UPDATE strategy_states
          SET heartbeat_timeout_seconds = $2, heartbeat_last_at = COALESCE($3, heartbeat_last_at),
              heartbeat_expires_at = $4
        WHERE strategy_id = $1 RETURNING ${COLUMNS}`,
      [strategyId, hb?.timeoutSeconds ?? null, hb?.lastAt ?? null, hb?.expiresAt ?? null],
    );
    return toRecord(rows[0]);
  }

  /** Strategies whose armed heartbeat is due at `now`. */
  async dueHeartbeats(now: Date, limit = 100): Promise<string[]> {
    const rows: Array<{ strategy_id: string }> = await this.ds.query(
      `SELECT strategy_id FROM strategy_states
        WHERE heartbeat_expires_at IS NOT NULL AND heartbeat_expires_at <= $1
        ORDER BY heartbeat_expires_at LIMIT $2`,
      [now, limit],
    );
    return rows.map((r) => r.strategy_id);
  }

  /**
   * Strategies halted by an expired heartbeat that still have open orders
   * (not already pending cancel) or live TWAP plans: an expiry whose cancels
   * never ran (the process stopped between the halt and the cancel-all).
   */
  async haltedByHeartbeatWithOpenWork(limit = 100): Promise<string[]> {
    const rows: Array<{ strategy_id: string }> = await this.ds.query(
      `SELECT s.strategy_id FROM strategy_states s
        WHERE s.state = 'halted' AND s.reason = 'HEARTBEAT_EXPIRED'
          AND (EXISTS (SELECT 1 FROM orders o WHERE o.strategy_id = s.strategy_id AND o.status IN (${CANCELABLE_LIST}))
               OR EXISTS (SELECT 1 FROM twap_plans p
                           WHERE p.strategy_id = s.strategy_id AND p.status IN ('scheduled', 'active')))
        ORDER BY s.changed_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.strategy_id);
  }
}
