/**
 * The order insert with its audit row (one statement), plain and under an
 * exposure guard (migration 1765700000000; docs/risk-and-safety.md#how-limits-stay-atomic).
 */
import { auditRowOf } from '../../audit/audit.repository';
import { COLUMNS } from './order-row';

const INSERT_COLUMNS = `client_order_id, strategy_id, symbol, side, qty, order_type, limit_price,
    stop_price, time_in_force, status, metadata, created_at, updated_at,
    trail_price, trail_percent, extended_hours,
    parent_order_id, slice_num, total_slices, scheduled_time, error_message, replaces,
    order_class, leg_type, take_profit_limit_price, stop_loss_stop_price, stop_loss_limit_price`;
const INSERT_VALUES = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $17, $18, $19, $20, $21, $22, $23, $24, $26,
    $27, $28, $29, $30, $31`;
const WITH_AUDIT = `audit AS (
    ${auditRowOf('ins', { action: '$13', actor: '$14', requestId: '$15', details: '$16', occurredAt: '$12', reasonCode: '$25' })}
  )
  SELECT ${COLUMNS} FROM ins`;

/** The hot path: prepared once per connection (see `prepared` in infra/database/unit-of-work). */
export const INSERT_WITH_AUDIT = `WITH ins AS (
    INSERT INTO orders (${INSERT_COLUMNS}) VALUES (${INSERT_VALUES})
    ON CONFLICT (client_order_id) DO NOTHING
    RETURNING ${COLUMNS}
  ), ${WITH_AUDIT}`;

/**
 * The same insert under an exposure guard (migration 1765700000000): the
 * guard and the strategy's open-order limit are set for the statement's own
 * transaction before the row is inserted (the row is selected from them), so
 * the insert's trigger and the commit's strategy claim hold the order to them.
 */
export const INSERT_GUARDED = `WITH g AS (
    SELECT set_config('exposure.guard', $32, true) AS guard, set_config('exposure.max_open_orders', $33, true) AS lim
  ), ins AS (
    INSERT INTO orders (${INSERT_COLUMNS}) SELECT ${INSERT_VALUES} FROM g
    ON CONFLICT (client_order_id) DO NOTHING
    RETURNING ${COLUMNS}
  ), ${WITH_AUDIT}`;

/** An insert judged against the committed counters: what they must still allow (`exposure.guard`), and the strategy's limit. */
export interface InsertGuard {
  /** `max_size|price|limit_value`, see migration 1765700000000. */
  guard: string;
  maxOpenOrders: number;
}

/** The SQLSTATE of a guarded insert refused because its symbol's exposure moved past its guard. */
const GUARD_SQLSTATE = 'EG002';

/** The guarded insert failed: the exposure moved past what the order was admitted under; nothing was written. */
export function isGuardError(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === GUARD_SQLSTATE;
}
