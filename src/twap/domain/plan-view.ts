/**
 * A plan as the API shows it (docs/twap.md#reading-a-plan): its slices with
 * their child orders' progress, the parent's fills, VWAP and slippage
 * against the arrival price.
 */
import { Decimal, exact, plain, quotient } from '../../common/decimal';
import type { SliceRow, TwapPlan } from '../persistence/twap.repository';
import { sentQtyOf } from './carry-forward';

export interface SliceView {
  slice_num: number;
  client_order_id: string;
  strategy_id: string;
  qty: number;
  scheduled_time: string;
  /** The slice's state until its order exists, then the order's status. */
  status: string;
  sent_qty: number | null;
  filled_qty: number;
  filled_avg_price: string | null;
  sent_at: string | null;
  reason_code: string | null;
}

export interface PlanView {
  parent_order_id: string;
  parent_strategy_id: string;
  symbol: string;
  side: string;
  order_type: string;
  limit_price: string | null;
  stop_price: string | null;
  time_in_force: string;
  total_qty: number;
  total_slices: number;
  duration_minutes: number;
  interval_seconds: number;
  status: string;
  created_at: string;
  ended_at: string | null;
  sent_qty: number;
  filled_qty: number;
  filled_avg_price: string | null;
  arrival_price: string | null;
  slippage_bps: string | null;
  shortfall_qty: number | null;
  slices: SliceView[];
}

/** The fill-weighted average price of the children, or null before the first fill. */
export function parentVwap(fills: Array<{ qty: number; avgPrice: string | null }>): string | null {
  let qty = exact('0');
  let value = exact('0');
  for (const f of fills) {
    if (f.qty <= 0 || f.avgPrice === null) continue;
    qty = qty.add(f.qty);
    value = value.add(exact(f.avgPrice).mul(f.qty));
  }
  return qty.isZero() ? null : plain(quotient(value, qty));
}

/**
 * Signed slippage in basis points against the arrival price: positive is a
 * cost (a buy filled above arrival, a sell below), negative an improvement.
 * Two decimal places; null without a fill or an arrival price.
 */
export function slippageBps(side: string, arrival: string | null, vwap: string | null): string | null {
  if (arrival === null || vwap === null) return null;
  const a = new Decimal(arrival);
  if (a.isZero()) return null;
  const diff = side === 'buy' ? new Decimal(vwap).sub(a) : a.sub(new Decimal(vwap));
  return diff.div(a).mul(10_000).toDecimalPlaces(2, Decimal.ROUND_HALF_EVEN).toFixed(2);
}

export function toPlanView(plan: TwapPlan, slices: SliceRow[]): PlanView {
  const views = slices.map((s): SliceView => ({
    slice_num: s.sliceNum,
    client_order_id: s.clientOrderId,
    strategy_id: plan.strategyId,
    qty: s.plannedQty,
    scheduled_time: s.scheduledTime.toISOString(),
    status: (s.state === 'sent' || s.state === 'sending') && s.childStatus ? s.childStatus : s.state,
    // What went to the broker: a refused or blocked slice sent nothing.
    sent_qty: s.state === 'sent' || s.state === 'sending' ? s.sentQty : null,
    filled_qty: s.child?.filledQty ?? 0,
    filled_avg_price: s.childFilledAvgPrice,
    sent_at: s.sentAt?.toISOString() ?? null,
    reason_code: s.reasonCode,
  }));
  // Working or filled: an order that ended short (rejected, canceled, expired) counts only its fills,
  // a refused or blocked slice nothing. Never more than total_qty (docs/twap.md#reading-a-plan).
  const sent = slices.reduce((n, s) => n + sentQtyOf(s), 0);
  const filled = views.reduce((n, s) => n + s.filled_qty, 0);
  const vwap = parentVwap(views.map((v) => ({ qty: v.filled_qty, avgPrice: v.filled_avg_price })));
  return {
    parent_order_id: plan.parentOrderId,
    parent_strategy_id: plan.strategyId,
    symbol: plan.symbol,
    side: plan.side,
    order_type: plan.orderType,
    limit_price: plan.limitPrice,
    stop_price: plan.stopPrice,
    time_in_force: plan.timeInForce,
    total_qty: plan.totalQty,
    total_slices: plan.totalSlices,
    duration_minutes: plan.durationMinutes,
    interval_seconds: plan.intervalSeconds,
    status: plan.status,
    created_at: plan.createdAt.toISOString(),
    ended_at: plan.endedAt?.toISOString() ?? null,
    sent_qty: sent,
    filled_qty: filled,
    filled_avg_price: vwap,
    arrival_price: plan.arrivalPrice === null ? null : plain(new Decimal(plan.arrivalPrice)),
    slippage_bps: slippageBps(plan.side, plan.arrivalPrice, vwap),
    shortfall_qty: plan.shortfallQty,
    slices: views,
  };
}
