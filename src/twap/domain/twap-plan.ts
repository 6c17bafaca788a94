/**
 * The TWAP planner (docs/twap.md#the-schedule): pure functions from a slicing
 * request to its slices, the parent id, and the liquidity verdict.
 *
 * - `total_slices = ceil(duration_minutes × 60 / interval_seconds)`;
 * - slice `i` is due at `t0 + i × interval_seconds` (slice 0 at once);
 * - each slice gets `floor(qty / n)`, the first `qty mod n` one more, so the
 *   quantities sum exactly to `qty`;
 * - `qty < n` cannot be sliced (a slice of zero shares) and is refused.
 */
import { createHash } from 'node:crypto';
import { Decimal } from '../../common/decimal';
import { clientOrderIdHashInput, ClientOrderIdInput } from '../../trading/client-order-id';

/** A trading day (09:30–16:00 US Eastern): no plan runs longer. */
export const MAX_DURATION_MINUTES = 390;
export const MIN_INTERVAL_SECONDS = 1;
export const MAX_INTERVAL_SECONDS = 3600;
/** More slices than this per plan are refused (a shorter interval would mean thousands of orders). */
export const MAX_TOTAL_SLICES = 1000;

export interface PlannedSlice {
  sliceNum: number;
  qty: number;
  scheduledTime: Date;
}

export function totalSlices(durationMinutes: number, intervalSeconds: number): number {
  return Math.ceil((durationMinutes * 60) / intervalSeconds);
}

/** Slice quantities: `floor(qty / n)` each, the first `qty mod n` one more. Requires qty ≥ n ≥ 1. */
export function sliceQuantities(qty: number, n: number): number[] {
  if (!Number.isSafeInteger(qty) || !Number.isSafeInteger(n) || n < 1 || qty < n) {
    throw new RangeError(`cannot slice ${qty} into ${n} slices`);
  }
  const base = Math.floor(qty / n);
  const extra = qty % n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

/** The slices of a plan accepted at `t0`. */
export function planSlices(qty: number, durationMinutes: number, intervalSeconds: number, t0: Date): PlannedSlice[] {
  const n = totalSlices(durationMinutes, intervalSeconds);
  return sliceQuantities(qty, n).map((q, i) => ({
    sliceNum: i,
    qty: q,
    scheduledTime: new Date(t0.getTime() + i * intervalSeconds * 1000),
  }));
}

/** The largest slice of `qty` over `n` slices. */
export function largestSlice(qty: number, n: number): number {
  return Math.ceil(qty / n);
}

/**
 * The parent id: the order id formula (docs/api.md#client_order_id-and-idempotency)
 * with `|twap:<duration_minutes>:<interval_seconds>` appended before any
 * `|<idempotency_key>`, so the same request on the same day is the same plan.
 */
export function parentOrderId(i: ClientOrderIdInput, durationMinutes: number, intervalSeconds: number): string {
  const base = clientOrderIdHashInput({ ...i, idempotencyKey: null });
  const twap = `${base}|twap:${durationMinutes}:${intervalSeconds}`;
  const input = i.idempotencyKey ? `${twap}|${i.idempotencyKey}` : twap;
  return createHash('sha256').update(input, 'utf8').digest('hex').slice(0, 24);
}

export function sliceClientOrderId(parentId: string, sliceNum: number): string {
  return `${parentId}-s${sliceNum}`;
}

/** What the refusal of a plan too large for the symbol's liquidity suggests instead. */
export interface AdvAdvice {
  adv: string;
  max_slice_pct_of_adv: string;
  largest_slice: number;
  /** The largest slice the ADV allows (0: none). */
  max_slice_qty: number;
  /** The longest interval that fits at this duration; null when none does. */
  max_interval_seconds: number | null;
  /** The shortest duration that fits at this interval; null when none does within a trading day. */
  min_duration_minutes: number | null;
}

/**
 * Null when the plan's largest slice is within `pct` of `adv`; otherwise the
 * advice of the SLICE_EXCEEDS_ADV_PCT refusal.
 */
export function checkSliceAdv(
  qty: number,
  durationMinutes: number,
  intervalSeconds: number,
  adv: string,
  pct: string,
): AdvAdvice | null {
  const n = totalSlices(durationMinutes, intervalSeconds);
  const largest = largestSlice(qty, n);
  const maxSliceQty = new Decimal(adv).mul(pct).floor().toNumber();
  if (largest <= maxSliceQty) return null;
  const advice: AdvAdvice = {
    adv,
    max_slice_pct_of_adv: pct,
    largest_slice: largest,
    max_slice_qty: maxSliceQty,
    max_interval_seconds: null,
    min_duration_minutes: null,
  };
  if (maxSliceQty < 1) return advice;
  // The fewest slices that keep every slice within the bound; then ceil(D·60 / I) ≥ need.
  const need = Math.ceil(qty / maxSliceQty);
  // need ≥ 2 here (n ≥ 1 slices were too few). ceil(x) ≥ need ⇔ x > need − 1.
  const seconds = durationMinutes * 60;
  const maxInterval = Math.ceil(seconds / (need - 1)) - 1;
  if (maxInterval >= MIN_INTERVAL_SECONDS && need <= MAX_TOTAL_SLICES) advice.max_interval_seconds = maxInterval;
  const minDuration = Math.floor(((need - 1) * intervalSeconds) / 60) + 1;
  if (minDuration <= MAX_DURATION_MINUTES && need <= MAX_TOTAL_SLICES) advice.min_duration_minutes = minDuration;
  return advice;
}
