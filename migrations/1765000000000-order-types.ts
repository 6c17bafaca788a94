import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trailing stops and extended hours (docs/order-lifecycle.md#trailing-stop-orders).
 *
 * - orders.trail_price / trail_percent: a trailing stop's trail, exactly one
 *   of them for a trailing_stop and neither for any other type.
 * - orders.extended_hours: only a limit day order may have it.
 * - the order_type CHECK gains trailing_stop.
 * - sim_orders keeps a trailing stop's trail and high-water mark (hwm); its
 *   stop_price is the current, ratcheted stop.
 */
export class OrderTypes1765000000000 implements MigrationInterface {
  name = 'OrderTypes1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE orders
        ADD COLUMN trail_price    NUMERIC CHECK (trail_price IS NULL OR trail_price > 0),
        ADD COLUMN trail_percent  NUMERIC CHECK (trail_percent IS NULL OR (trail_percent > 0 AND trail_percent < 100)),
        ADD COLUMN extended_hours BOOLEAN NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_order_type_check`);
    await q.query(`
      ALTER TABLE orders
        ADD CONSTRAINT orders_order_type_check
          CHECK (order_type IN ('market', 'limit', 'stop', 'stop_limit', 'trailing_stop')),
        ADD CONSTRAINT orders_trail_check
          CHECK ((order_type = 'trailing_stop') = ((trail_price IS NULL) <> (trail_percent IS NULL))),
        ADD CONSTRAINT orders_extended_hours_check
          CHECK (NOT extended_hours OR (order_type = 'limit' AND time_in_force = 'day'))`);
    await q.query(`
      ALTER TABLE sim_orders
        ADD COLUMN trail_price   NUMERIC,
        ADD COLUMN trail_percent NUMERIC,
        ADD COLUMN hwm           NUMERIC`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sim_orders DROP COLUMN hwm, DROP COLUMN trail_percent, DROP COLUMN trail_price`);
    await q.query(`DELETE FROM orders WHERE order_type = 'trailing_stop'`);
    await q.query(`
      ALTER TABLE orders
        DROP CONSTRAINT orders_extended_hours_check,
        DROP CONSTRAINT orders_trail_check,
        DROP CONSTRAINT orders_order_type_check,
        DROP COLUMN extended_hours,
        DROP COLUMN trail_percent,
        DROP COLUMN trail_price`);
    await q.query(`
      ALTER TABLE orders ADD CONSTRAINT orders_order_type_check
        CHECK (order_type IN ('market', 'limit', 'stop', 'stop_limit'))`);
  }
}
