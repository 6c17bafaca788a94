import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql, Tx } from '../../infra/database/unit-of-work';
import { OpenBlockingFinding } from '../domain/gate';
import { Finding, FindingKind } from '../domain/reconcile';

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

/** reconciliation_findings: what runs found, deduplicated by key, resolved by runs or operators. */
@Injectable()
export class FindingsRepository {
  constructor(private readonly ds: DataSource) {}

  /** Open findings that may block a symbol (orphans, position mismatches). */
  async openBlockingFindings(): Promise<OpenBlockingFinding[]> {
    const rows = await sql<{ id: string; kind: FindingKind; symbol: string }>(
      this.ds,
      `SELECT id, kind, symbol FROM reconciliation_findings
        WHERE resolved_at IS NULL AND kind IN ('orphan', 'position_mismatch') ORDER BY id`,
    );
    return rows.map((r) => ({ id: String(r.id), kind: r.kind, symbol: r.symbol }));
  }

  /**
   * Records a finding once: an open one with the same key is only marked
   * seen again. Orphans, missing fills and status mismatches are never
   * raised again once recorded; a position mismatch is raised again unless
   * an operator acknowledged those very values. `resolution` records it
   * resolved at once (a correction that was applied). Returns the id when a
   * new row was written.
   */
  async record(f: Finding, resolution: Resolution | null = null): Promise<string | null> {
    const rows = await sql<{ id: string }>(
      this.ds,
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
    await sql(
      this.ds,
      `UPDATE reconciliation_findings SET last_seen_at = now(), seen_count = seen_count + 1
        WHERE dedup_key = $1 AND resolved_at IS NULL`,
      [f.key],
    );
    return null;
  }

  /** Open findings of `kind` whose key is not in `keep`: the run no longer sees them. */
  async resolveOpenExcept(kind: FindingKind, keep: string[], resolution: Resolution): Promise<number> {
    const rows = await sql<{ id: string }>(
      this.ds,
      `UPDATE reconciliation_findings SET resolved_at = now(), resolution = $3, resolved_by = 'reconciliation'
        WHERE kind = $1 AND resolved_at IS NULL AND NOT (dedup_key = ANY($2)) RETURNING id`,
      [kind, keep, resolution],
    );
    return rows.length;
  }

  /** Open status mismatches of orders that are no longer open or now agree (by key). */
  async resolveOpenByKeys(keys: string[], resolution: Resolution): Promise<void> {
    if (!keys.length) return;
    await sql(
      this.ds,
      `UPDATE reconciliation_findings SET resolved_at = now(), resolution = $2, resolved_by = 'reconciliation'
        WHERE dedup_key = ANY($1) AND resolved_at IS NULL`,
      [keys, resolution],
    );
  }

  async openFindings(kind?: FindingKind): Promise<FindingRecord[]> {
    const rows = await sql<FindingRow>(
      this.ds,
      `SELECT ${FINDING_COLUMNS} FROM reconciliation_findings
        WHERE resolved_at IS NULL AND ($1::text IS NULL OR kind = $1) ORDER BY id`,
      [kind ?? null],
    );
    return rows.map(toFinding);
  }

  /** Open findings, and those resolved within `resolvedWithinMs`, newest first. */
  async listFindings(resolvedWithinMs: number, limit: number): Promise<FindingRecord[]> {
    const rows = await sql<FindingRow>(
      this.ds,
      `SELECT ${FINDING_COLUMNS} FROM reconciliation_findings
        WHERE resolved_at IS NULL OR resolved_at > now() - make_interval(secs => $1)
        ORDER BY id DESC LIMIT $2`,
      [resolvedWithinMs / 1000, limit],
    );
    return rows.map(toFinding);
  }

  async findingById(id: string): Promise<FindingRecord | null> {
    const rows = await sql<FindingRow>(
      this.ds,
      `SELECT ${FINDING_COLUMNS} FROM reconciliation_findings WHERE id = $1`,
      [id],
    );
    return rows.length ? toFinding(rows[0]) : null;
  }

  /** Resolves an open finding as acknowledged; null when it is not open. */
  async acknowledge(tx: Tx, id: string, operator: string, notes: string | null): Promise<FindingRecord | null> {
    const rows = await sql<FindingRow>(
      tx,
      `UPDATE reconciliation_findings SET resolved_at = now(), resolution = 'acknowledged', resolved_by = $2, notes = $3
        WHERE id = $1 AND resolved_at IS NULL RETURNING ${FINDING_COLUMNS}`,
      [id, operator, notes],
    );
    return rows.length ? toFinding(rows[0]) : null;
  }
}
