import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The kill switch (docs/risk-and-safety.md#kill-switch), durable in PostgreSQL.
 *
 * - kill_switch_events: append-only history of every engage and disengage
 *   (UPDATE, DELETE and TRUNCATE raise, as on audit_log).
 * - kill_switch_state: exactly one row (id = 1), the current state, updated in
 *   the same transaction as the event it follows. `version` grows by one per
 *   change, so a replica never goes back to an older state it read late.
 */
export class KillSwitch1763900000000 implements MigrationInterface {
  name = 'KillSwitch1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE kill_switch_events (
        id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        action   TEXT NOT NULL CHECK (action IN ('engage', 'disengage')),
        operator TEXT NOT NULL,
        reason   TEXT,
        notes    TEXT,
        details  JSONB,
        at       TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    // The same guard as audit_log's (reject_rewrite, from the initial schema).
    await q.query(`
      CREATE TRIGGER kill_switch_events_no_update_delete BEFORE UPDATE OR DELETE ON kill_switch_events
      FOR EACH ROW EXECUTE FUNCTION reject_rewrite()`);
    await q.query(`
      CREATE TRIGGER kill_switch_events_no_truncate BEFORE TRUNCATE ON kill_switch_events
      FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite()`);

    await q.query(`
      CREATE TABLE kill_switch_state (
        id             SMALLINT PRIMARY KEY CHECK (id = 1),
        engaged        BOOLEAN NOT NULL,
        engaged_at     TIMESTAMPTZ,
        engaged_by     TEXT,
        reason         TEXT,
        details        JSONB,
        disengaged_at  TIMESTAMPTZ,
        disengaged_by  TEXT,
        version        BIGINT NOT NULL,
        updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await q.query(`INSERT INTO kill_switch_state (id, engaged, version) VALUES (1, false, 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE kill_switch_state');
    await q.query('DROP TRIGGER kill_switch_events_no_truncate ON kill_switch_events');
    await q.query('DROP TRIGGER kill_switch_events_no_update_delete ON kill_switch_events');
    await q.query('DROP TABLE kill_switch_events');
  }
}
