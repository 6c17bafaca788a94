/**
 * The vocabulary of the pre-trade pipeline (docs/risk-and-safety.md#the-pre-trade-pipeline, docs/risk-and-safety.md#reason-codes-and-status-codes): every check is a pure function that answers allow (null) or a
 * denial with a stable reason code, the HTTP status class it maps to and a
 * message a human can act on.
 */
export const SAFETY_GATE_CODES = [
  'KILL_SWITCH_ENGAGED',
  'CIRCUIT_BREAKER_TRIPPED',
  'STRATEGY_HALTED',
  'STRATEGY_REDUCING',
  'RECONCILIATION_GATE_REDUCE_ONLY',
  'SYMBOL_QUARANTINED',
  'SAFETY_STATE_UNAVAILABLE',
] as const;
export const LIMIT_CODES = [
  'FAT_FINGER_MAX_NOTIONAL',
  'FAT_FINGER_MAX_QTY',
  'FAT_FINGER_MAX_ADV_PCT',
  'PRICE_STALE',
  'PRICE_UNAVAILABLE',
  'MAX_POSITION_SIZE',
  'MAX_POSITION_PCT',
  'DAILY_LOSS_LIMIT',
  'MAX_OPEN_ORDERS',
] as const;
export type SafetyGateCode = (typeof SAFETY_GATE_CODES)[number];
export type LimitCode = (typeof LIMIT_CODES)[number];
export type ReasonCode = SafetyGateCode | LimitCode;

export interface Denial {
  code: ReasonCode;
  /** 503 for safety gates and unreadable state, 422 for fat-finger and limits (docs/risk-and-safety.md#reason-codes-and-status-codes). */
  status: 503 | 422;
  message: string;
  /** Figures behind the decision (limit, value, price age...), as strings for decimals. */
  details?: Record<string, unknown>;
}

/** null = allowed. */
export type CheckResult = Denial | null;

export function gateDenial(code: SafetyGateCode, message: string, details?: Record<string, unknown>): Denial {
  return { code, status: 503, message, details };
}

export function limitDenial(code: LimitCode, message: string, details?: Record<string, unknown>): Denial {
  return { code, status: 422, message, details };
}
