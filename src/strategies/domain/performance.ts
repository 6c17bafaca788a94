/**
 * Daily performance per strategy (docs/strategies-and-pnl.md#daily-performance):
 * realized P&L from the strategy's own book, fills, buy and sell notional,
 * orders and rejections per UTC day, and the range's totals.
 *
 * Invariants: a day's realized P&L is the sum of what its fills realized in
 * their strategy's book; totals are the sums of the rows; money is exact.
 */
import { Decimal, exact, plain } from '../../common/decimal';
import { BookFill } from './strategy-books';

export interface PerformanceRow {
  date: string;
  strategy_id: string;
  realized_pl: string;
  fills: number;
  buy_notional: string;
  sell_notional: string;
  orders: number;
  rejections: number;
}

export interface DayCount {
  date: string;
  strategyId: string;
  count: number;
}

/** What a strategy's fills did on one UTC day, exact. */
export interface DayFigures {
  date: string;
  strategyId: string;
  realized: Decimal;
  fills: number;
  buyNotional: Decimal;
  sellNotional: Decimal;
}

export type PerformanceTotals = Omit<PerformanceRow, 'date' | 'strategy_id'>;

export const utcDate = (d: Date): string => d.toISOString().slice(0, 10);

/** Rows for every (day, strategy) with any activity in [start, end] (dates inclusive), by date then strategy. */
export function dailyPerformance(
  realized: ReadonlyArray<{ fill: BookFill; realizedDelta: string }>,
  orders: readonly DayCount[],
  rejections: readonly DayCount[],
  start: string,
  end: string,
): { days: PerformanceRow[]; totals: PerformanceTotals } {
  return dailyPerformanceOf(dayFiguresOf(realized), orders, rejections, start, end);
}

/** The fills' figures per UTC day and strategy (every day, in order of first appearance). */
export function dayFiguresOf(realized: ReadonlyArray<{ fill: BookFill; realizedDelta: string }>): DayFigures[] {
  const out = new Map<string, DayFigures>();
  for (const { fill, realizedDelta } of realized) {
    const date = utcDate(fill.executedAt);
    const key = `${date}\u0000${fill.strategyId}`;
    let d = out.get(key);
    if (!d) {
      const zero = exact('0');
      d = { date, strategyId: fill.strategyId, realized: zero, fills: 0, buyNotional: zero, sellNotional: zero };
      out.set(key, d);
    }
    d.realized = d.realized.plus(realizedDelta);
    d.fills += 1;
    const notional = exact(fill.qty).times(fill.price);
    if (fill.side === 'buy') d.buyNotional = d.buyNotional.plus(notional);
    else d.sellNotional = d.sellNotional.plus(notional);
  }
  return [...out.values()];
}

/** dailyPerformance from day figures already summed (see BookLedger). */
export function dailyPerformanceOf(
  figures: readonly DayFigures[],
  orders: readonly DayCount[],
  rejections: readonly DayCount[],
  start: string,
  end: string,
): { days: PerformanceRow[]; totals: PerformanceTotals } {
  const rows = new Map<string, PerformanceRow>();
  const row = (date: string, strategyId: string): PerformanceRow => {
    const key = `${date}\u0000${strategyId}`;
    let r = rows.get(key);
    if (!r) {
      r = {
        date,
        strategy_id: strategyId,
        realized_pl: '0',
        fills: 0,
        buy_notional: '0',
        sell_notional: '0',
        orders: 0,
        rejections: 0,
      };
      rows.set(key, r);
    }
    return r;
  };
  const inRange = (date: string) => date >= start && date <= end;
  for (const f of figures) {
    if (!inRange(f.date)) continue;
    const r = row(f.date, f.strategyId);
    r.realized_pl = plain(exact(r.realized_pl).plus(f.realized));
    r.fills += f.fills;
    r.buy_notional = plain(exact(r.buy_notional).plus(f.buyNotional));
    r.sell_notional = plain(exact(r.sell_notional).plus(f.sellNotional));
  }
  for (const o of orders) if (inRange(o.date)) row(o.date, o.strategyId).orders += o.count;
  for (const o of rejections) if (inRange(o.date)) row(o.date, o.strategyId).rejections += o.count;
  const days = [...rows.values()].sort((a, b) =>
    a.date < b.date ? -1 : a.date > b.date ? 1 : a.strategy_id < b.strategy_id ? -1 : 1,
  );
  const totals: PerformanceTotals = {
    realized_pl: '0',
    fills: 0,
    buy_notional: '0',
    sell_notional: '0',
    orders: 0,
    rejections: 0,
  };
  for (const d of days) {
    totals.realized_pl = plain(exact(totals.realized_pl).plus(d.realized_pl));
    totals.buy_notional = plain(exact(totals.buy_notional).plus(d.buy_notional));
    totals.sell_notional = plain(exact(totals.sell_notional).plus(d.sell_notional));
    totals.fills += d.fills;
    totals.orders += d.orders;
    totals.rejections += d.rejections;
  }
  return { days, totals };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A `YYYY-MM-DD` that names a real calendar day, else null. */
export function parseDay(raw: unknown): string | null {
  if (typeof raw !== 'string' || !DATE.test(raw)) return null;
  const d = new Date(`${raw}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && utcDate(d) === raw ? raw : null;
}

/** Days from start to end, both included. */
export function daysInRange(start: string, end: string): number {
  return Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000) + 1;
}
