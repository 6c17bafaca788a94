import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reconciliation (docs/reconciliation.md).
 *
 * - reconciliation_state: exactly one row (id = 1), the shared state every
 *   replica reads (gate, status): the last run's times, outcome and error,
 *   the fills cursor, the last force-complete, and run requests. A request is
 *   a counter (`run_requests`): a run records the value it serves when it
 *   starts (`serving`) and when it finishes (`served`), so requests coalesce
 *   and a caller can wait for the run that covers its own request.
 *   `version` grows with every change.
 * - reconciliation_findings: one row per finding, deduplicated on
 *   `dedup_key` (at most one open row per key; orphans, missing fills and
 *   status mismatches are never raised twice). Resolved rows stay (listed
 *   for 24 h by the status endpoint, kept for the record).
 */
export class Reconciliation1764200000000 implements MigrationInterface {
  name = 'Reconciliation1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE reconciliation_state (
        id                   SMALLINT PRIMARY KEY CHECK (id = 1),
        run_requests         BIGINT NOT NULL DEFAULT 0,
        serving              BIGINT NOT NULL DEFAULT 0,
        served               BIGINT NOT NULL DEFAULT 0,
        last_run_started_at  TIMESTAMPTZ,
        last_run_finished_at TIMESTAMPTZ,
        last_run_duration_ms INTEGER,
        last_run_ok          BOOLEAN,
        last_error           TEXT,
        last_success_at      TIMESTAMPTZ,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_run_summary     JSONB,
        fills_cursor         TIMESTAMPTZ,
        force_completed_at   TIMESTAMPTZ,
        force_completed_by   TEXT,
        force_reason         TEXT,
        version              BIGINT NOT NULL DEFAULT 0,
        updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await q.query(`INSERT INTO reconciliation_state (id) VALUES (1)`);

    await q.query(`
      CREATE TABLE reconciliation_findings (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind            TEXT NOT NULL
                        CHECK (kind IN ('orphan', 'missing_fill', 'position_mismatch', 'status_mismatch')),
        dedup_key       TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        broker_order_id TEXT,
        client_order_id TEXT,
        local           JSONB,
        broker          JSONB,
        detected_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
        last_seen_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
        seen_count      INTEGER NOT NULL DEFAULT 1,
        resolved_at     TIMESTAMPTZ,
        resolution      TEXT CHECK (resolution IN ('corrected', 'converged', 'acknowledged', 'superseded')),
        resolved_by     TEXT,
        notes           TEXT,
        CHECK ((resolved_at IS NULL) = (resolution IS NULL))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX reconciliation_findings_open_key_idx ON reconciliation_findings (dedup_key) WHERE resolved_at IS NULL`,
    );
    await q.query(`CREATE INDEX reconciliation_findings_key_idx ON reconciliation_findings (dedup_key)`);
    await q.query(
      `CREATE INDEX reconciliation_findings_open_idx ON reconciliation_findings (kind, symbol) WHERE resolved_at IS NULL`,
    );
    await q.query(`CREATE INDEX reconciliation_findings_resolved_idx ON reconciliation_findings (resolved_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE reconciliation_findings');
    await q.query('DROP TABLE reconciliation_state');
  }
}
