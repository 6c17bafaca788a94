import { MigrationInterface, QueryRunner } from 'typeorm';
import { orderChange } from './1765700000000-exposure-fast-path';

/**
 * Guarded inserts in batches (docs/risk-and-safety.md#how-limits-stay-atomic):
 * the order-entry door's fast path may insert several orders of one symbol in
 * one statement, each under its own guard. Such a statement sets
 * `exposure.guards` for its transaction, a JSON object holding each order's
 * guard (`max_size|price|limit_value`, see migration 1765700000000) by
 * client_order_id; the insert's trigger checks each order against its own,
 * after counting it, on the symbol's row the statement holds. Past one order's
 * guard the statement fails (EG002) and nothing of it is written. A statement
 * that sets `exposure.guard` is checked as before.
 */
export class GuardedInsertBatches1765800000000 implements MigrationInterface {
  name = 'GuardedInsertBatches1765800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(orderChange('each'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(orderChange('one'));
  }
}
