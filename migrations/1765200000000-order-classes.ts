import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bracket, OTO and OCO orders (docs/order-lifecycle.md#bracket-oto-and-oco-orders).
 *
 * - orders.order_class: simple (every existing order), bracket, oto or oco.
 *   The entry of a bracket/OTO, or the take-profit of an OCO, carries its
 *   legs' terms (take_profit_limit_price, stop_loss_stop_price,
 *   stop_loss_limit_price) so a replay can be compared with it.
 * - orders.leg_type: take_profit or stop_loss on a leg row; a leg's
 *   parent_order_id is its entry's client_order_id. Legs never add exposure:
 *   the pre-trade exposure reads skip them (the partial index below serves
 *   "the legs of an entry").
 * - sim_orders keeps the same class, leg type and parent, so the simulator's
 *   book of held legs survives a restart.
 */
export class OrderClasses1765200000000 implements MigrationInterface {
  name = 'OrderClasses1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE orders
        ADD COLUMN order_class TEXT NOT NULL DEFAULT 'simple'
          CHECK (order_class IN ('simple', 'bracket', 'oto', 'oco')),
        ADD COLUMN leg_type TEXT CHECK (leg_type IN ('take_profit', 'stop_loss')),
        ADD COLUMN take_profit_limit_price NUMERIC CHECK (take_profit_limit_price > 0),
        ADD COLUMN stop_loss_stop_price NUMERIC CHECK (stop_loss_stop_price > 0),
        ADD COLUMN stop_loss_limit_price NUMERIC CHECK (stop_loss_limit_price > 0),
        ADD CONSTRAINT orders_leg_parent_check CHECK (leg_type IS NULL OR parent_order_id IS NOT NULL),
        ADD CONSTRAINT orders_simple_no_legs_check CHECK (order_class <> 'simple' OR (leg_type IS NULL
          AND take_profit_limit_price IS NULL AND stop_loss_stop_price IS NULL))`);
    await q.query(`CREATE INDEX orders_legs_idx ON orders (parent_order_id) WHERE leg_type IS NOT NULL`);
    await q.query(`
      ALTER TABLE sim_orders
        ADD COLUMN order_class TEXT NOT NULL DEFAULT 'simple',
        ADD COLUMN leg_type    TEXT,
        ADD COLUMN parent_id   TEXT`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sim_orders DROP COLUMN parent_id, DROP COLUMN leg_type, DROP COLUMN order_class`);
    await q.query(`DROP INDEX IF EXISTS orders_legs_idx`);
    await q.query(`
      ALTER TABLE orders
        DROP CONSTRAINT orders_simple_no_legs_check,
        DROP CONSTRAINT orders_leg_parent_check,
        DROP COLUMN stop_loss_limit_price,
        DROP COLUMN stop_loss_stop_price,
        DROP COLUMN take_profit_limit_price,
        DROP COLUMN leg_type,
        DROP COLUMN order_class`);
  }
}
