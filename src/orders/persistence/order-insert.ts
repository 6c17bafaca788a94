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

/**
 * The parameter types of an insert, $1..$31 of INSERT_VALUES and the audit row (INSERT_WITH_AUDIT): what each
 * element of INSERT_GUARDED_MANY's arrays is read as.
 */
const PARAM_TYPES = [
  'text', // 1 client_order_id
  'text', // 2 strategy_id
  'text', // 3 symbol
  'text', // 4 side
  'numeric', // 5 qty
  'text', // 6 order_type
  'numeric', // 7 limit_price
  'numeric', // 8 stop_price
  'text', // 9 time_in_force
  'text', // 10 status
  'jsonb', // 11 metadata
  'timestamptz', // 12 created_at (and updated_at, occurred_at)
  'text', // 13 audit action
  'text', // 14 audit actor
  'text', // 15 audit request_id
  'jsonb', // 16 audit details
  'numeric', // 17 trail_price
  'numeric', // 18 trail_percent
  'boolean', // 19 extended_hours
  'text', // 20 parent_order_id
  'integer', // 21 slice_num
  'integer', // 22 total_slices
  'timestamptz', // 23 scheduled_time
  'text', // 24 error_message
  'text', // 25 audit reason_code
  'text', // 26 replaces
  'text', // 27 order_class
  'text', // 28 leg_type
  'numeric', // 29 take_profit_limit_price
  'numeric', // 30 stop_loss_stop_price
  'numeric', // 31 stop_loss_limit_price
] as const;

/** The number of parameters of one insert (PARAM_TYPES); INSERT_GUARDED_MANY takes one array of each. */
export const INSERT_PARAMS = PARAM_TYPES.length;

/** `$n` of INSERT_VALUES as a column of the unnested arrays, cast to its type (`client_order_id` keeps its name for the join). */
const fromArrays = (sql: string) =>
  sql.replace(/\$(\d+)/g, (_, n: string) =>
    n === '1' ? 'v.client_order_id' : `v.p${n}::${PARAM_TYPES[Number(n) - 1]}`,
  );

/**
 * Several guarded inserts in one statement (and one transaction): each element of the arrays $1..$31 is one
 * order (its INSERT_VALUES), inserted in array order; `exposure.guards` ($32) holds each order's guard by
 * client_order_id (a JSON object), which the insert's trigger checks on its row (migration 1765800000000), and
 * `exposure.max_open_orders` ($33) the strategies' limit, claimed at commit. Past one order's guard the whole
 * statement fails (EG002) and nothing is written; an order whose id is taken is skipped (not returned).
 */
export const INSERT_GUARDED_MANY = `WITH g AS (
    SELECT set_config('exposure.guards', $32, true) AS guards, set_config('exposure.max_open_orders', $33, true) AS lim
  ), v AS (
    SELECT * FROM unnest(${PARAM_TYPES.map((_, i) => `$${i + 1}::text[]`).join(', ')})
      WITH ORDINALITY AS v(client_order_id, ${PARAM_TYPES.slice(1)
        .map((_, i) => `p${i + 2}`)
        .join(', ')}, n)
  ), ins AS (
    INSERT INTO orders (${INSERT_COLUMNS}) SELECT ${fromArrays(INSERT_VALUES)} FROM v, g ORDER BY v.n
    ON CONFLICT (client_order_id) DO NOTHING
    RETURNING ${COLUMNS}
  ), audit AS (
    ${auditRowOf('ins JOIN v USING (client_order_id)', {
      action: 'v.p13',
      actor: 'v.p14',
      requestId: 'v.p15',
      details: 'v.p16::jsonb',
      occurredAt: 'v.p12::timestamptz',
      reasonCode: 'v.p25',
    })}
  )
  SELECT ${COLUMNS} FROM ins`;

/** A parameter of an insert as the text INSERT_GUARDED_MANY's arrays carry. */
export function asArrayText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

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
