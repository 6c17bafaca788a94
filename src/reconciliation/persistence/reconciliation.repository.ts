import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { OrderSide, OrderStatus } from '../../trading/order-status';
import { OpenBlockingFinding, ReconciliationStateView } from '../domain/gate';
import { rebuildPosition } from '../domain/position-rebuild';
import { Finding, FindingKind, LocalOrderView, PositionView } from '../domain/reconcile';

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

export type Resolution = 'corrected' | 'converged' | 'acknowledged' | 'superseded';

export interface FindingRecord {
  id: string;
  kind: FindingKind;
  key: string;
  symbol: string;
  brokerOrderId: string | null;
  clientOrderId: string | null;
  local: Record<string, unknown> | null;
  broker: Record<string, unknown> | null;
  detectedAt: Date;
  lastSeenAt: Date;
  seenCount: number;
  resolvedAt: Date | null;
  resolution: Resolution | null;
  resolvedBy: string | null;
  notes: string | null;
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

interface FindingRow {
  id: string;
  kind: FindingKind;
  dedup_key: string;
  symbol: string;
  broker_order_id: string | null;
  client_order_id: string | null;
  local: Record<string, unknown> | null;
  broker: Record<string, unknown> | null;
  detected_at: Date;
  last_seen_at: Date;
  seen_count: number;
  resolved_at: Date | null;
  resolution: Resolution | null;
  resolved_by: string | null;
  notes: string | null;
}

const FINDING_COLUMNS = `id, kind, dedup_key, symbol, broker_order_id, client_order_id, local, broker, detected_at, last_seen_at,
  seen_count, resolved_at, resolution, resolved_by, notes`;

const LOCAL_ORDER_COLUMNS = `client_order_id, broker_order_id, symbol, side, qty, status, filled_qty, filled_avg_price`;

interface LocalOrderRow {
  client_order_id: string;
  broker_order_id: string | null;
  symbol: string;
  side: OrderSide;
  qty: string;
  status: OrderStatus;
  filled_qty: string;
  filled_avg_price: string | null;
}

const toLocal = (r: LocalOrderRow): LocalOrderView => ({
  clientOrderId: r.client_order_id,
  brokerOrderId: r.broker_order_id,
  symbol: r.symbol,
  side: r.side,
  qty: r.qty,
  status: r.status,
  filledQty: r.filled_qty,
  filledAvgPrice: r.filled_avg_price,
});

const toFinding = (r: FindingRow): FindingRecord => ({
  id: String(r.id),
  kind: r.kind,
  key: r.dedup_key,
  symbol: r.symbol,
  brokerOrderId: r.broker_order_id,
  clientOrderId: r.client_order_id,
  local: r.local,
  broker: r.broker,
  detectedAt: r.detected_at,
  lastSeenAt: r.last_seen_at,
  seenCount: r.seen_count,
  resolvedAt: r.resolved_at,
  resolution: r.resolution,
  resolvedBy: r.resolved_by,
  notes: r.notes,
});

/** TypeORM answers an UPDATE ... RETURNING with [rows, count] on PostgreSQL. */
function returned<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}

/**
 * reconciliation_state, reconciliation_findings, and the reads of orders,
 * fills and positions a run compares with the broker.
 */
@Injectable()
export class ReconciliationRepository {
  constructor(private readonly ds: DataSource) {}

  async now(): Promise<Date> {
    const [row] = (await this.ds.query(`SELECT now() AS now`)) as Array<{ now: Date }>;
    return row.now;
  }

  async readState(): Promise<ReconciliationState> {
    const rows: StateRow[] = await this.ds.query(
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

  /** Open findings that may block a symbol (orphans, position mismatches). */
  async openBlockingFindings(): Promise<OpenBlockingFinding[]> {
    const rows: Array<{ id: string; kind: FindingKind; symbol: string }> = await this.ds.query(
      `SELECT id, kind, symbol FROM reconciliation_findings
        WHERE resolved_at IS NULL AND kind IN ('orphan', 'position_mismatch') ORDER BY id`,
    );
    return rows.map((r) => ({ id: String(r.id), kind: r.kind, symbol: r.symbol }));
  }

  /** Asks for a run; returns the request number a caller can wait for. */
  async requestRun(): Promise<number> {
    const rows = returned<{ run_requests: string }>(
      await this.ds.query(
        `UPDATE reconciliation_state SET run_requests = run_requests + 1, version = version + 1, updated_at = now()
          WHERE id = 1 RETURNING run_requests`,
      ),
    );
    return Number(rows[0].run_requests);
  }

  /**
   * Takes the run lock on a connection of its own (session level: it spans
   * the run, which must not sit in one transaction). null when another
   * session holds it.
   */
  async tryLock(): Promise<QueryRunner | null> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      const [row] = (await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [
        RECONCILIATION_LOCK_KEY,
      ])) as Array<{
        locked: boolean;
      }>;
      if (row?.locked) return runner;
    } catch (err) {
      await runner.release();
      throw err;
    }
    await runner.release();
    return null;
  }

  async unlock(runner: QueryRunner): Promise<void> {
    try {
      await runner.query(`SELECT pg_advisory_unlock($1)`, [RECONCILIATION_LOCK_KEY]);
    } finally {
      await runner.release();
    }
  }

  /** Marks a run started; returns its start time and the request number it serves. */
  async markStarted(): Promise<{ startedAt: Date; serving: number }> {
    const rows = returned<{ last_run_started_at: Date; serving: string }>(
      await this.ds.query(
        `UPDATE reconciliation_state SET serving = run_requests, last_run_started_at = clock_timestamp(),
                version = version + 1, updated_at = now()
          WHERE id = 1 RETURNING last_run_started_at, serving`,
      ),
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
    await this.ds.query(
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

  async forceComplete(manager: EntityManager, operator: string, reason: string): Promise<Date> {
    const rows = returned<{ force_completed_at: Date }>(
      await manager.query(
        `UPDATE reconciliation_state SET force_completed_at = clock_timestamp(), force_completed_by = $1,
                force_reason = $2, version = version + 1, updated_at = now()
          WHERE id = 1 RETURNING force_completed_at`,
        [operator, reason],
      ),
    );
    return rows[0].force_completed_at;
  }

  /** Moves the fills cursor forward (never back). */
  async advanceFillsCursor(to: Date | null): Promise<void> {
    if (!to) return;
    await this.ds.query(
      `UPDATE reconciliation_state SET fills_cursor = GREATEST(fills_cursor, $1), updated_at = now() WHERE id = 1`,
      [to],
    );
  }

  /** Bumps the version so every replica re-reads the blocking findings. */
  async touch(manager?: EntityManager): Promise<void> {
    await (manager ?? this.ds.manager).query(
      `UPDATE reconciliation_state SET version = version + 1, updated_at = now() WHERE id = 1`,
    );
  }

  // --- what the run compares -------------------------------------------------------

  /** Every order that may still change at the broker. */
  async openOrders(): Promise<LocalOrderView[]> {
    const rows: LocalOrderRow[] = await this.ds.query(
      `SELECT ${LOCAL_ORDER_COLUMNS} FROM orders WHERE status = ANY($1)`,
      [[...OPEN_STATUSES]],
    );
    return rows.map(toLocal);
  }

  /** Orders known by either id (any status). */
  async ordersByIds(clientOrderIds: string[], brokerOrderIds: string[]): Promise<LocalOrderView[]> {
    if (!clientOrderIds.length && !brokerOrderIds.length) return [];
    const rows: LocalOrderRow[] = await this.ds.query(
      `SELECT ${LOCAL_ORDER_COLUMNS} FROM orders WHERE client_order_id = ANY($1) OR broker_order_id = ANY($2)`,
      [clientOrderIds, brokerOrderIds],
    );
    return rows.map(toLocal);
  }

  async knownExecutionIds(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows: Array<{ execution_id: string }> = await this.ds.query(
      `SELECT execution_id FROM fills WHERE execution_id = ANY($1)`,
      [ids],
    );
    return new Set(rows.map((r) => r.execution_id));
  }

  async positions(): Promise<PositionView[]> {
    const rows: Array<{ symbol: string; qty: string; avg_entry_price: string }> = await this.ds.query(
      `SELECT symbol, qty, avg_entry_price FROM positions`,
    );
    return rows.map((r) => ({ symbol: r.symbol, qty: r.qty, avgEntryPrice: r.avg_entry_price }));
  }

  /**
   * Inside the transaction that recorded a fill (the position row is already
   * locked by it): the symbol's position and every fill's realized P&L,
   * recomputed from its fills in execution order.
   */
  async rebuildPosition(m: EntityManager, symbol: string): Promise<void> {
    await m.query(`SELECT 1 FROM positions WHERE symbol = $1 FOR UPDATE`, [symbol]);
    const rows: Array<{
      id: string;
      side: 'buy' | 'sell';
      qty: string;
      price: string;
      executed_at: Date;
      realized_pl: string;
    }> = await m.query(
      `SELECT id, side, qty, price, executed_at, realized_pl FROM fills WHERE symbol = $1 ORDER BY executed_at, id`,
      [symbol],
    );
    const rebuilt = rebuildPosition(
      rows.map((r) => ({
        id: String(r.id),
        side: r.side,
        qty: r.qty,
        price: r.price,
        executedAt: r.executed_at,
        realizedPl: r.realized_pl,
      })),
    );
    for (const f of rebuilt.changedFills) {
      await m.query(`UPDATE fills SET realized_pl = $2 WHERE id = $1`, [f.id, f.realizedPl]);
    }
    const p = rebuilt.position;
    await m.query(
      `UPDATE positions SET qty = $2, avg_entry_price = $3, realized_pl = $4, last_trade_at = $5, updated_at = now()
        WHERE symbol = $1`,
      [symbol, p.qty, p.avgEntryPrice, p.realizedPl, rebuilt.lastTradeAt],
    );
  }

  // --- findings ----------------------------------------------------------------------

  /**
   * Records a finding once: an open one with the same key is only marked
   * seen again. Orphans, missing fills and status mismatches are never
   * raised again once recorded; a position mismatch is raised again unless
   * an operator acknowledged those very values. `resolution` records it
   * resolved at once (a correction that was applied). Returns the id when a
   * new row was written.
   */
  async record(f: Finding, resolution: Resolution | null = null): Promise<string | null> {
    const rows: Array<{ id: string }> = await this.ds.query(
      `INSERT INTO reconciliation_findings (kind, dedup_key, symbol, broker_order_id, client_order_id, local, broker,
                                            resolved_at, resolution, resolved_by)
       SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN $8::text IS NULL THEN NULL ELSE now() END, $8,
              CASE WHEN $8::text IS NULL THEN NULL ELSE 'reconciliation' END
        WHERE NOT EXISTS (
          SELECT 1 FROM reconciliation_findings
           WHERE dedup_key = $2 AND (resolved_at IS NULL OR kind <> 'position_mismatch' OR resolution = 'acknowledged'))
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [
        f.kind,
        f.key,
        f.symbol,
        f.brokerOrderId,
        f.clientOrderId,
        f.local === null ? null : JSON.stringify(f.local),
        f.broker === null ? null : JSON.stringify(f.broker),
        resolution,
      ],
    );
    if (rows.length) return String(rows[0].id);
    await this.ds.query(
      `UPDATE reconciliation_findings SET last_seen_at = now(), seen_count = seen_count + 1
        WHERE dedup_key = $1 AND resolved_at IS NULL`,
      [f.key],
    );
    return null;
  }

  /** Open findings of `kind` whose key is not in `keep`: the run no longer sees them. */
  async resolveOpenExcept(kind: FindingKind, keep: string[], resolution: Resolution): Promise<number> {
    const rows = returned<{ id: string }>(
      await this.ds.query(
        `UPDATE reconciliation_findings SET resolved_at = now(), resolution = $3, resolved_by = 'reconciliation'
          WHERE kind = $1 AND resolved_at IS NULL AND NOT (dedup_key = ANY($2)) RETURNING id`,
        [kind, keep, resolution],
      ),
    );
    return rows.length;
  }

  /** Open status mismatches of orders that are no longer open or now agree (by key). */
  async resolveOpenByKeys(keys: string[], resolution: Resolution): Promise<void> {
    if (!keys.length) return;
    await this.ds.query(
      `UPDATE reconciliation_findings SET resolved_at = now(), resolution = $2, resolved_by = 'reconciliation'
        WHERE dedup_key = ANY($1) AND resolved_at IS NULL`,
      [keys, resolution],
    );
  }

  async openFindings(kind?: FindingKind): Promise<FindingRecord[]> {
    const rows: FindingRow[] = await this.ds.query(
      `SELECT ${FINDING_COLUMNS} FROM reconciliation_findings
        WHERE resolved_at IS NULL AND ($1::text IS NULL OR kind = $1) ORDER BY id`,
      [kind ?? null],
    );
    return rows.map(toFinding);
  }

  /** Open findings, and those resolved within `resolvedWithinMs`, newest first. */
  async listFindings(resolvedWithinMs: number, limit: number): Promise<FindingRecord[]> {
    const rows: FindingRow[] = await this.ds.query(
      `SELECT ${FINDING_COLUMNS} FROM reconciliation_findings
        WHERE resolved_at IS NULL OR resolved_at > now() - make_interval(secs => $1)
        ORDER BY id DESC LIMIT $2`,
      [resolvedWithinMs / 1000, limit],
    );
    return rows.map(toFinding);
  }

  async findingById(id: string): Promise<FindingRecord | null> {
    const rows: FindingRow[] = await this.ds.query(
      `SELECT ${FINDING_COLUMNS} FROM reconciliation_findings WHERE id = $1`,
      [id],
    );
    return rows.length ? toFinding(rows[0]) : null;
  }

  /** Resolves an open finding as acknowledged; null when it is not open. */
  async acknowledge(
    manager: EntityManager,
    id: string,
    operator: string,
    notes: string | null,
  ): Promise<FindingRecord | null> {
    const rows = returned<FindingRow>(
      await manager.query(
        `UPDATE reconciliation_findings SET resolved_at = now(), resolution = 'acknowledged', resolved_by = $2, notes = $3
          WHERE id = $1 AND resolved_at IS NULL RETURNING ${FINDING_COLUMNS}`,
        [id, operator, notes],
      ),
    );
    return rows.length ? toFinding(rows[0]) : null;
  }
}
