/**
 * Alpaca's wire shapes as the fake server sends them: snake_case keys, decimal
 * strings, RFC-3339 timestamps (see the trading contract reference, §2–§6 and §9).
 */

export interface WireOrder {
  id: string;
  client_order_id: string;
  created_at: string;
  updated_at: string;
  submitted_at: string;
  filled_at: string | null;
  expired_at: string | null;
  canceled_at: string | null;
  failed_at: string | null;
  replaced_at: string | null;
  replaced_by: string | null;
  replaces: string | null;
  asset_id: string;
  symbol: string;
  asset_class: string;
  notional: string | null;
  qty: string | null;
  filled_qty: string;
  filled_avg_price: string | null;
  order_class: string;
  order_type: string;
  type: string;
  side: string;
  position_intent?: string;
  time_in_force: string;
  limit_price: string | null;
  stop_price: string | null;
  trail_price: string | null;
  trail_percent: string | null;
  hwm: string | null;
  status: string;
  extended_hours: boolean;
  legs: WireOrder[] | null;
  expires_at: string | null;
}

export interface WireFillActivity {
  id: string;
  activity_type: 'FILL';
  transaction_time: string;
  type: 'fill' | 'partial_fill';
  price: string;
  qty: string;
  side: string;
  symbol: string;
  leaves_qty: string;
  cum_qty: string;
  order_id: string;
  order_status: string;
}

export interface WirePosition {
  asset_id: string;
  symbol: string;
  exchange: string;
  asset_class: string;
  asset_marginable: boolean;
  qty: string;
  qty_available: string;
  avg_entry_price: string;
  side: 'long' | 'short';
  market_value: string;
  cost_basis: string;
  unrealized_pl: string;
  unrealized_plpc: string;
  unrealized_intraday_pl: string;
  unrealized_intraday_plpc: string;
  current_price: string;
  lastday_price: string;
  change_today: string;
}

export interface WireAccount {
  id: string;
  account_number: string;
  status: string;
  crypto_status: string;
  currency: string;
  buying_power: string;
  regt_buying_power: string;
  non_marginable_buying_power: string;
  options_buying_power: string;
  cash: string;
  equity: string;
  last_equity: string;
  portfolio_value: string;
  long_market_value: string;
  short_market_value: string;
  initial_margin: string;
  maintenance_margin: string;
  last_maintenance_margin: string;
  sma: string;
  multiplier: string;
  trading_blocked: boolean;
  account_blocked: boolean;
  trade_suspended_by_user: boolean;
  transfers_blocked: boolean;
  shorting_enabled: boolean;
  options_approved_level: number;
  options_trading_level: number;
  accrued_fees: string;
  pending_transfer_in: string;
  pending_transfer_out: string;
  created_at: string;
}

/** `data` of a `trade_updates` frame. */
export interface WireTradeUpdate {
  event: string;
  execution_id?: string;
  order: WireOrder;
  timestamp: string;
  price?: string;
  qty?: string;
  position_qty?: string;
}

export interface WireError {
  code?: number;
  message: string;
}

/** A handler's answer: status plus JSON body (`undefined` body = empty, e.g. 204). */
export interface WireResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const ERR_DUPLICATE_CLIENT_ORDER_ID: WireError = {
  code: 40010001,
  message: 'client_order_id must be unique',
};
export const ERR_ORDER_NOT_FOUND: WireError = { code: 40410000, message: 'order not found' };
export const ERR_POSITION_NOT_FOUND: WireError = { code: 40410000, message: 'position does not exist' };
export const ERR_INSUFFICIENT_BUYING_POWER: WireError = { code: 40310000, message: 'insufficient buying power' };
export const ERR_UNAUTHORIZED: WireError = { message: 'unauthorized' };

export function validationError(message: string): WireResponse {
  // Alpaca reports most order validation failures as 422 with code 40010001.
  return { status: 422, body: { code: 40010001, message } };
}

export const TERMINAL_STATUSES: ReadonlySet<string> = new Set([
  'filled',
  'canceled',
  'expired',
  'rejected',
  'replaced',
]);

/** RFC-3339 with microseconds, as Alpaca writes its order timestamps. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/Z$/, '000Z');
}

/** Deterministic uuid-like ids: a 4-hex-digit kind tag plus a counter. */
export function uuidLike(kind: number, n: number): string {
  const tag = kind.toString(16).padStart(4, '0');
  return `${tag}0000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** Alpaca activity ids look like `20220203000000000::045b3b8d-…` (a time prefix, then a uuid). */
export function activityId(at: Date, uuid: string): string {
  const iso = at.toISOString(); // 2024-01-02T15:04:05.123Z
  const compact = iso.replace(/[-:TZ.]/g, ''); // 20240102150405123
  return `${compact}::${uuid}`;
}
