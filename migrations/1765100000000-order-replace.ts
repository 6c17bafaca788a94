import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Replacing an open order (docs/order-lifecycle.md#replacing-an-order).
 *
 * - orders.replaces: the client_order_id of the order this one replaces (a
 *   replacement is a new order row, written ahead like any other);
 * - orders.replaced_by: set on the old order when the broker accepted its
 *   replacement (the old order then ends `replaced`);
 * - an index on replaces: the order-entry door looks up the replacements of
 *   an order under its row lock;
 * - a partial index of the open replacements by symbol: the exposure read
 *   pairs a replacement still being sent with the order it replaces.
 */
const OPEN = `'pending_new', 'submitted', 'submitted_unconfirmed', 'accepted', 'new', 'partially_filled', 'done_for_day',
  'stopped', 'suspended', 'pending_cancel', 'pending_replace', 'calculated'`;

export class OrderReplace1765100000000 implements MigrationInterface {
  name = 'OrderReplace1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE orders
        ADD COLUMN replaces    TEXT REFERENCES orders (client_order_id),
        ADD COLUMN replaced_by TEXT REFERENCES orders (client_order_id),
        ADD CONSTRAINT orders_replaces_self_check CHECK (replaces IS NULL OR replaces <> client_order_id)`);
    await q.query(`CREATE INDEX orders_replaces_idx ON orders (replaces) WHERE replaces IS NOT NULL`);
    await q.query(
      `CREATE INDEX orders_open_replacements_idx ON orders (symbol) WHERE replaces IS NOT NULL AND status IN (${OPEN})`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS orders_open_replacements_idx`);
    await q.query(`DROP INDEX IF EXISTS orders_replaces_idx`);
    await q.query(`
      ALTER TABLE orders
        DROP CONSTRAINT orders_replaces_self_check,
        DROP COLUMN replaced_by,
        DROP COLUMN replaces`);
  }
}
