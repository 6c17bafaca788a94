import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * TWAP plans and their slices (docs/twap.md). A slice's child order is the
 * order row whose client_order_id is the slice's (`<parent_order_id>-s<i>`).
 */
export class Twap1764700000000 implements MigrationInterface {
  name = 'Twap1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE twap_plans (
        parent_order_id   text PRIMARY KEY,
        strategy_id       text NOT NULL,
        symbol            text NOT NULL,
        side              text NOT NULL CHECK (side IN ('buy', 'sell')),
        total_qty         integer NOT NULL CHECK (total_qty > 0),
        order_type        text NOT NULL,
        limit_price       numeric,
        stop_price        numeric,
        time_in_force     text NOT NULL,
        duration_minutes  integer NOT NULL CHECK (duration_minutes > 0),
        interval_seconds  integer NOT NULL CHECK (interval_seconds > 0),
        total_slices      integer NOT NULL CHECK (total_slices > 0),
        status            text NOT NULL CHECK (status IN ('scheduled', 'active', 'completed', 'canceled', 'expired')),
        arrival_price     numeric,
        created_by        text NOT NULL,
        created_at        timestamptz NOT NULL,
        ended_at          timestamptz,
        shortfall_qty     integer
      )`);
    await q.query(
      `CREATE INDEX twap_plans_live_idx ON twap_plans (created_at) WHERE status IN ('scheduled', 'active')`,
    );
    await q.query(`
      CREATE TABLE twap_slices (
        client_order_id   text PRIMARY KEY,
        parent_order_id   text NOT NULL REFERENCES twap_plans (parent_order_id),
        slice_num         integer NOT NULL CHECK (slice_num >= 0),
        planned_qty       integer NOT NULL CHECK (planned_qty > 0),
        scheduled_time    timestamptz NOT NULL,
        state             text NOT NULL CHECK (state IN ('scheduled', 'sending', 'sent', 'skipped', 'expired',
                            'canceled', 'refused', 'blocked_kill_switch', 'blocked_circuit_breaker')),
        sent_qty          integer CHECK (sent_qty > 0),
        claimed_at        timestamptz,
        sent_at           timestamptz,
        reason_code       text,
        UNIQUE (parent_order_id, slice_num)
      )`);
    await q.query(`CREATE INDEX twap_slices_due_idx ON twap_slices (scheduled_time) WHERE state = 'scheduled'`);
    await q.query(`CREATE INDEX twap_slices_sending_idx ON twap_slices (claimed_at) WHERE state = 'sending'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS twap_slices');
    await q.query('DROP TABLE IF EXISTS twap_plans');
  }
}
