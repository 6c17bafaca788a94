import { MigrationInterface, QueryRunner } from 'typeorm';

const ORDER_STATUSES_BEFORE = [
  'pending_new',
  'accepted',
  'new',
  'partially_filled',
  'filled',
  'canceled',
  'rejected',
  'expired',
  'replaced',
  'done_for_day',
  'stopped',
  'suspended',
  'pending_cancel',
  'pending_replace',
  'calculated',
  'submitted',
  'submitted_unconfirmed',
  'dry_run',
  'failed',
  'blocked_kill_switch',
  'blocked_circuit_breaker',
];

const SLICE_STATES_BEFORE = [
  'scheduled',
  'sending',
  'sent',
  'skipped',
  'expired',
  'canceled',
  'refused',
  'blocked_kill_switch',
  'blocked_circuit_breaker',
];

const NEW = 'blocked_strategy_halted';
const list = (values: string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * A TWAP slice of a halted strategy is written as an order row in status
 * `blocked_strategy_halted` (terminal, never sent, holding no exposure), like
 * the kill switch's and the breaker's blocked slices (docs/twap.md#blocked-slices),
 * and the slice takes that state: both CHECK constraints admit it.
 *
 * The constraints are added NOT VALID, then validated: the validation scans
 * the table without blocking writes. Not in the exposure counters' open
 * statuses (1765300000000-exposure-counters.ts): a blocked order counts nothing.
 * `down` fails while any order or slice is in the new status.
 */
export class BlockedStrategyHalted1765600000000 implements MigrationInterface {
  name = 'BlockedStrategyHalted1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await this.replace(q, [...ORDER_STATUSES_BEFORE, NEW], [...SLICE_STATES_BEFORE, NEW]);
  }

  async down(q: QueryRunner): Promise<void> {
    await this.replace(q, ORDER_STATUSES_BEFORE, SLICE_STATES_BEFORE);
  }

  private async replace(q: QueryRunner, orderStatuses: string[], sliceStates: string[]): Promise<void> {
    await q.query(`ALTER TABLE orders DROP CONSTRAINT orders_status_check`);
    await q.query(
      `ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN (${list(orderStatuses)})) NOT VALID`,
    );
    await q.query(`ALTER TABLE orders VALIDATE CONSTRAINT orders_status_check`);
    await q.query(`ALTER TABLE twap_slices DROP CONSTRAINT twap_slices_state_check`);
    await q.query(
      `ALTER TABLE twap_slices ADD CONSTRAINT twap_slices_state_check CHECK (state IN (${list(sliceStates)})) NOT VALID`,
    );
    await q.query(`ALTER TABLE twap_slices VALIDATE CONSTRAINT twap_slices_state_check`);
  }
}
