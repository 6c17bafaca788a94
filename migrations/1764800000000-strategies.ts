import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-strategy trading state and dead-man's switch (docs/strategies-and-pnl.md).
 *
 * - strategy_states: one row per strategy that was ever given a state or a
 *   heartbeat. `version` takes the next value of strategy_state_version on
 *   every change of state, so the highest version of the table never goes
 *   back and a replica never returns to an older set of states it read late.
 * - heartbeat_expires_at: the persisted deadline of an armed dead-man's
 *   switch; the leader scans the due ones, so a deadline survives a change of
 *   leader or a restart.
 * - fills (strategy_id, executed_at): the per-strategy books and daily
 *   performance read a strategy's fills.
 */
export class Strategies1764800000000 implements MigrationInterface {
  name = 'Strategies1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE strategy_state_version`);
    await q.query(`
      CREATE TABLE strategy_states (
        strategy_id               TEXT PRIMARY KEY CHECK (strategy_id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
        state                     TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'reducing', 'halted')),
        reason                    TEXT,
        changed_at                TIMESTAMPTZ NOT NULL DEFAULT now(),
        changed_by                TEXT NOT NULL,
        version                   BIGINT NOT NULL,
        heartbeat_timeout_seconds INTEGER CHECK (heartbeat_timeout_seconds BETWEEN 5 AND 3600),
        heartbeat_last_at         TIMESTAMPTZ,
        heartbeat_expires_at      TIMESTAMPTZ,
        CHECK ((heartbeat_timeout_seconds IS NULL) = (heartbeat_expires_at IS NULL))
      )`);
    await q.query(`
      CREATE INDEX strategy_states_heartbeat_due_idx ON strategy_states (heartbeat_expires_at)
       WHERE heartbeat_expires_at IS NOT NULL`);
    await q.query(`CREATE INDEX fills_strategy_idx ON fills (strategy_id, executed_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS fills_strategy_idx`);
    await q.query(`DROP TABLE IF EXISTS strategy_states`);
    await q.query(`DROP SEQUENCE IF EXISTS strategy_state_version`);
  }
}
