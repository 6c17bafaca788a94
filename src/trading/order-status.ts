/** The order status vocabulary of docs/order-lifecycle.md#statuses: the broker's statuses plus the gateway's own. */
export const ORDER_STATUSES = [
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
  'blocked_strategy_halted',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/**
 * The statuses of an order a safety control refused before it was sent (the
 * kill switch, the circuit breaker, a halted strategy): terminal, never at a
 * broker, holding no exposure (docs/order-lifecycle.md#statuses).
 */
export type BlockedStatus = Extract<
  OrderStatus,
  'blocked_kill_switch' | 'blocked_circuit_breaker' | 'blocked_strategy_halted'
>;

export const ORDER_SIDES = ['buy', 'sell'] as const;
export type OrderSide = (typeof ORDER_SIDES)[number];

export const ORDER_TYPES = ['market', 'limit', 'stop', 'stop_limit', 'trailing_stop'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const TIME_IN_FORCE = ['day', 'gtc', 'ioc', 'fok'] as const;
export type TimeInForce = (typeof TIME_IN_FORCE)[number];
