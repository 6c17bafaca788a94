import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sim keeps only its most recent ended orders and executions in memory
 * (docs/simulator.md#memory-and-retention); what left memory is read from
 * sim_orders and sim_fills, by these indexes: an order by client order id
 * (a duplicate check on every submit once orders were dropped), a parent's
 * legs, recent orders by sequence or creation time, and fills by sequence
 * (page tokens) or transaction time.
 */
export class SimBookLookups1765510000000 implements MigrationInterface {
  name = 'SimBookLookups1765510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX IF NOT EXISTS sim_orders_client_order_id_idx ON sim_orders (client_order_id)');
    await q.query(
      'CREATE INDEX IF NOT EXISTS sim_orders_parent_id_idx ON sim_orders (parent_id) WHERE parent_id IS NOT NULL',
    );
    await q.query('CREATE INDEX IF NOT EXISTS sim_orders_seq_idx ON sim_orders (seq)');
    await q.query('CREATE INDEX IF NOT EXISTS sim_orders_created_at_idx ON sim_orders (created_at)');
    await q.query('CREATE INDEX IF NOT EXISTS sim_fills_seq_idx ON sim_fills (seq)');
    await q.query('CREATE INDEX IF NOT EXISTS sim_fills_transaction_time_idx ON sim_fills (transaction_time)');
  }

  async down(q: QueryRunner): Promise<void> {
    for (const index of [
      'sim_fills_transaction_time_idx',
      'sim_fills_seq_idx',
      'sim_orders_created_at_idx',
      'sim_orders_seq_idx',
      'sim_orders_parent_id_idx',
      'sim_orders_client_order_id_idx',
    ]) {
      await q.query(`DROP INDEX IF EXISTS ${index}`);
    }
  }
}
