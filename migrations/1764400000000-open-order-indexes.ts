import { MigrationInterface, QueryRunner } from 'typeorm';

/** The open statuses of src/orders/domain/order-state-machine.ts, as the pre-trade exposure read lists them. */
const OPEN = `'pending_new', 'submitted', 'submitted_unconfirmed', 'accepted', 'new', 'partially_filled', 'done_for_day',
  'stopped', 'suspended', 'pending_cancel', 'pending_replace', 'calculated'`;

/**
 * Partial indexes for the pre-trade exposure read (open orders by symbol and
 * by strategy), which runs on every order under the exposure lock.
 */
export class OpenOrderIndexes1764400000000 implements MigrationInterface {
  name = 'OpenOrderIndexes1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX orders_open_symbol_idx ON orders (symbol) WHERE status IN (${OPEN})`);
    await q.query(`CREATE INDEX orders_open_strategy_idx ON orders (strategy_id) WHERE status IN (${OPEN})`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS orders_open_strategy_idx');
    await q.query('DROP INDEX IF EXISTS orders_open_symbol_idx');
  }
}
