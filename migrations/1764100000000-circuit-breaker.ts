import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The circuit breaker (docs/risk-and-safety.md#circuit-breaker), durable in PostgreSQL.
 *
 * - circuit_breaker_events: append-only history of every trip and reset
 *   (UPDATE, DELETE and TRUNCATE raise, as on audit_log).
 * - circuit_breaker_state: exactly one row (id = 1), the current state, updated
 *   in the same transaction as the event it follows. `version` grows by one per
 *   change, so a replica never goes back to an older state it read late.
 * - circuit_breaker_equity_peaks: the highest account equity seen per UTC
 *   trade date, the reference of the drawdown condition; it only ever rises.
 */
export class CircuitBreaker1764100000000 implements MigrationInterface {
  name = 'CircuitBreaker1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE circuit_breaker_events (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        action      TEXT NOT NULL CHECK (action IN ('trip', 'reset')),
        operator    TEXT NOT NULL,
        reason_code TEXT,
        reason      TEXT,
        notes       TEXT,
        details     JSONB,
        at          TIMESTAMPTZ NOT NULL DEFAULT now(),
        CHECK (action <> 'trip' OR reason_code IS NOT NULL)
      )`);
    // The same guard as audit_log's (reject_rewrite, from the initial schema).
    await q.query(`
      CREATE TRIGGER circuit_breaker_events_no_update_delete BEFORE UPDATE OR DELETE ON circuit_breaker_events
      FOR EACH ROW EXECUTE FUNCTION reject_rewrite()`);
    await q.query(`
      CREATE TRIGGER circuit_breaker_events_no_truncate BEFORE TRUNCATE ON circuit_breaker_events
      FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite()`);

    await q.query(`
      CREATE TABLE circuit_breaker_state (
        id           SMALLINT PRIMARY KEY CHECK (id = 1),
        tripped      BOOLEAN NOT NULL,
        tripped_at   TIMESTAMPTZ,
        tripped_by   TEXT,
        reason_code  TEXT,
        reason       TEXT,
        details      JSONB,
        reset_at     TIMESTAMPTZ,
        reset_by     TEXT,
        version      BIGINT NOT NULL,
        updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await q.query(`INSERT INTO circuit_breaker_state (id, tripped, version) VALUES (1, false, 0)`);

    await q.query(`
      CREATE TABLE circuit_breaker_equity_peaks (
        trade_date  DATE PRIMARY KEY,
        peak_equity NUMERIC NOT NULL,
        updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE circuit_breaker_equity_peaks');
    await q.query('DROP TABLE circuit_breaker_state');
    await q.query('DROP TRIGGER circuit_breaker_events_no_truncate ON circuit_breaker_events');
    await q.query('DROP TRIGGER circuit_breaker_events_no_update_delete ON circuit_breaker_events');
    await q.query('DROP TABLE circuit_breaker_events');
  }
}
