import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * orders, the append-only audit_log and api_keys.
 *
 * The order status vocabulary is docs/order-lifecycle.md#statuses: the broker's statuses plus the
 * gateway's own. audit_log refuses UPDATE, DELETE and TRUNCATE through
 * triggers, so the rule holds for every role that connects (docs/architecture.md#everything-audited).
 */
export class InitialSchema1763700000000 implements MigrationInterface {
  name = 'InitialSchema1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE orders (
        seq              BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        client_order_id  TEXT PRIMARY KEY CHECK (client_order_id ~ '^[A-Za-z0-9_.:-]{1,48}$'),
        strategy_id      TEXT NOT NULL,
        symbol           TEXT NOT NULL,
        side             TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        qty              NUMERIC NOT NULL CHECK (qty > 0),
        order_type       TEXT NOT NULL CHECK (order_type IN ('market', 'limit', 'stop', 'stop_limit')),
        limit_price      NUMERIC CHECK (limit_price IS NULL OR limit_price > 0),
        stop_price       NUMERIC CHECK (stop_price IS NULL OR stop_price > 0),
        time_in_force    TEXT NOT NULL CHECK (time_in_force IN ('day', 'gtc', 'ioc', 'fok')),
        status           TEXT NOT NULL CHECK (status IN (
                           'pending_new', 'accepted', 'new', 'partially_filled', 'filled',
                           'canceled', 'rejected', 'expired', 'replaced', 'done_for_day',
                           'stopped', 'suspended', 'pending_cancel', 'pending_replace',
                           'calculated', 'submitted', 'submitted_unconfirmed', 'dry_run',
                           'failed', 'blocked_kill_switch', 'blocked_circuit_breaker')),
        broker_order_id  TEXT UNIQUE,
        error_message    TEXT,
        retry_count      INTEGER NOT NULL DEFAULT 0,
        created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
        submitted_at     TIMESTAMPTZ,
        filled_at        TIMESTAMPTZ,
        filled_qty       NUMERIC NOT NULL DEFAULT 0 CHECK (filled_qty >= 0 AND filled_qty <= qty),
        filled_avg_price NUMERIC CHECK (filled_avg_price IS NULL OR filled_avg_price > 0),
        metadata         JSONB NOT NULL DEFAULT '{}'::jsonb,
        parent_order_id  TEXT,
        slice_num        INTEGER CHECK (slice_num IS NULL OR slice_num >= 0),
        total_slices     INTEGER CHECK (total_slices IS NULL OR total_slices > 0),
        scheduled_time   TIMESTAMPTZ,
        CHECK (order_type NOT IN ('limit', 'stop_limit') OR limit_price IS NOT NULL),
        CHECK (order_type NOT IN ('stop', 'stop_limit') OR stop_price IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX orders_strategy_seq_idx ON orders (strategy_id, seq DESC)`);
    await q.query(`CREATE INDEX orders_symbol_seq_idx ON orders (symbol, seq DESC)`);
    await q.query(`CREATE INDEX orders_status_seq_idx ON orders (status, seq DESC)`);
    await q.query(`CREATE INDEX orders_created_at_idx ON orders (created_at)`);
    await q.query(
      `CREATE INDEX orders_parent_idx ON orders (parent_order_id, slice_num) WHERE parent_order_id IS NOT NULL`,
    );

    await q.query(`
      CREATE TABLE audit_log (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        occurred_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
        action          TEXT NOT NULL,
        actor           TEXT NOT NULL,
        client_order_id TEXT,
        strategy_id     TEXT,
        symbol          TEXT,
        reason_code     TEXT,
        request_id      TEXT,
        details         JSONB NOT NULL DEFAULT '{}'::jsonb
      )`);
    await q.query(`CREATE INDEX audit_log_order_idx ON audit_log (client_order_id) WHERE client_order_id IS NOT NULL`);
    await q.query(`CREATE INDEX audit_log_action_time_idx ON audit_log (action, occurred_at)`);
    await q.query(`
      CREATE FUNCTION reject_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION reject_rewrite()`);
    await q.query(`
      CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
      FOR EACH STATEMENT EXECUTE FUNCTION reject_rewrite()`);

    await q.query(`
      CREATE TABLE api_keys (
        id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
        name        TEXT NOT NULL,
        key_hash    TEXT NOT NULL UNIQUE,
        key_prefix  TEXT NOT NULL,
        permissions TEXT[] NOT NULL,
        strategies  TEXT[] NOT NULL,
        created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
        created_by  TEXT NOT NULL,
        revoked_at  TIMESTAMPTZ
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE api_keys');
    await q.query('DROP TRIGGER audit_log_no_truncate ON audit_log');
    await q.query('DROP TRIGGER audit_log_no_update_delete ON audit_log');
    await q.query('DROP TABLE audit_log');
    await q.query('DROP FUNCTION reject_rewrite()');
    await q.query('DROP TABLE orders');
  }
}
