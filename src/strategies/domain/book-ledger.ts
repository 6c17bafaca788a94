/**
 * The strategies' books kept up to date incrementally
 * (docs/strategies-and-pnl.md#per-strategy-books): the same replay as
 * replayBooks (fills in execution order, the account's position math), held
 * in exact Decimals, extended with the fills that come after the last one
 * applied, and with what the fills did per UTC day and strategy (realized
 * P&L, fill count, buy and sell notional) for the daily performance.
 *
 * Invariants:
 * - after apply() of any split of a fill list into batches that each come
 *   after everything applied before (by execution time in ms, then id), the
 *   books and day figures are exactly those of replayBooks over the whole
 *   list, and dailyPerformance of its realized list;
 * - a batch with a fill at or before the watermark is refused whole
 *   (RangeError): the caller starts a new ledger and replays everything.
 */
import { Decimal, exact, plain } from '../../common/decimal';
import { applyFillExact, PositionState } from '../../positions/domain/position-math';
import { DayFigures, utcDate } from './performance';
import { BookFill, Books, compareFills } from './strategy-books';

interface ExactPosition {
  qty: Decimal;
  avgEntryPrice: Decimal;
  realizedPl: Decimal;
}

/** Every strategy's position in one symbol, summed: Σ qty, Σ realized P&L, Σ qty × avg entry. */
export interface SymbolTotals {
  qty: Decimal;
  realizedPl: Decimal;
  cost: Decimal;
}

export interface UnattributedRow {
  symbol: string;
  qty: string;
  realized_pl: string;
  unrealized_pl: string | null;
}

/**
 * What no strategy's book holds, per symbol, as in unattributed() and
 * unattributedUnrealized() of every book, but from the books' sums: the
 * unattributed unrealized P&L at mark m is
 * (qty_acct − Σ qty) × m − qty_acct × avg_acct + Σ qty × avg, exactly.
 * Symbols with nothing unattributed (qty, realized and unrealized all 0) are
 * left out; a symbol without a mark has unrealized null. Sorted by symbol.
 */
export function unattributedFromTotals(
  account: ReadonlyMap<string, PositionState>,
  totals: ReadonlyMap<string, SymbolTotals>,
  markOf: (symbol: string) => string | null,
): UnattributedRow[] {
  const rows: UnattributedRow[] = [];
  for (const symbol of [...new Set([...account.keys(), ...totals.keys()])].sort()) {
    const a = account.get(symbol);
    const t = totals.get(symbol);
    const aQty = exact(a?.qty ?? '0');
    const qty = t ? aQty.minus(t.qty) : aQty;
    const realized = exact(a?.realizedPl ?? '0').minus(t?.realizedPl ?? ZERO);
    const price = markOf(symbol);
    let u: Decimal | null = null;
    if (price !== null) {
      const aCost = aQty.isZero() ? ZERO : aQty.times(a?.avgEntryPrice ?? '0');
      u = qty
        .times(price)
        .minus(aCost)
        .plus(t?.cost ?? ZERO);
    }
    if (qty.isZero() && realized.isZero() && (u === null || u.isZero())) continue;
    rows.push({ symbol, qty: plain(qty), realized_pl: plain(realized), unrealized_pl: u === null ? null : plain(u) });
  }
  return rows;
}

/**
 * Everything a ledger holds, as text (exact decimals), in its own order:
 * BookLedger.fromCheckpoint(l.toCheckpoint()) is a ledger equal to l.
 */
export interface LedgerCheckpoint {
  count: number;
  watermark: { executedAt: string; id: string };
  /** [strategy, symbol, qty, avg entry, realized]. */
  positions: Array<[string, string, string, string, string]>;
  /** [symbol, Σ qty, Σ realized, Σ qty × avg]. */
  totals: Array<[string, string, string, string]>;
  /** [date, strategy, realized, fills, buy notional, sell notional]. */
  days: Array<[string, string, string, number, string, string]>;
}

export interface Watermark {
  /** Execution time of the last fill applied (ms precision, as replayBooks orders fills). */
  executedAt: Date;
  id: string;
}

const ZERO = exact('0');

export class BookLedger {
  /** strategy id → symbol → position, in the order replayBooks would create them. */
  private readonly positions = new Map<string, Map<string, ExactPosition>>();
  /** `date\0strategy` → that day's figures of the strategy. */
  private readonly days = new Map<string, DayFigures>();
  /** symbol → every strategy's position in it, summed. */
  private readonly totals = new Map<string, SymbolTotals>();
  private applied = 0;
  private last: Watermark | null = null;

  /** How many fills were applied. */
  get count(): number {
    return this.applied;
  }

  /** The last fill applied, null before any. */
  get watermark(): Watermark | null {
    return this.last && { executedAt: new Date(this.last.executedAt.getTime()), id: this.last.id };
  }

  /** What the ledger holds, to be restored by fromCheckpoint; null before any fill. */
  toCheckpoint(): LedgerCheckpoint | null {
    if (!this.last) return null;
    const positions: LedgerCheckpoint['positions'] = [];
    for (const [strategyId, book] of this.positions) {
      for (const [symbol, p] of book) {
        positions.push([strategyId, symbol, p.qty.toFixed(), p.avgEntryPrice.toFixed(), p.realizedPl.toFixed()]);
      }
    }
    return {
      count: this.applied,
      watermark: { executedAt: this.last.executedAt.toISOString(), id: this.last.id },
      positions,
      totals: [...this.totals].map(([s, t]) => [s, t.qty.toFixed(), t.realizedPl.toFixed(), t.cost.toFixed()]),
      days: [...this.days.values()].map((d) => [
        d.date,
        d.strategyId,
        d.realized.toFixed(),
        d.fills,
        d.buyNotional.toFixed(),
        d.sellNotional.toFixed(),
      ]),
    };
  }

  /** The ledger a checkpoint was taken of (RangeError when it is malformed). */
  static fromCheckpoint(c: LedgerCheckpoint): BookLedger {
    const l = new BookLedger();
    const executedAt = new Date(c.watermark.executedAt);
    if (
      !Number.isInteger(c.count) ||
      c.count < 1 ||
      Number.isNaN(executedAt.getTime()) ||
      !/^\d+$/.test(c.watermark.id)
    ) {
      throw new RangeError('malformed ledger checkpoint');
    }
    for (const [strategyId, symbol, qty, avg, realized] of c.positions) {
      let book = l.positions.get(strategyId);
      if (!book) l.positions.set(strategyId, (book = new Map()));
      book.set(symbol, { qty: exact(qty), avgEntryPrice: exact(avg), realizedPl: exact(realized) });
    }
    for (const [symbol, qty, realized, cost] of c.totals) {
      l.totals.set(symbol, { qty: exact(qty), realizedPl: exact(realized), cost: exact(cost) });
    }
    for (const [date, strategyId, realized, fills, buy, sell] of c.days) {
      l.days.set(`${date}\u0000${strategyId}`, {
        date,
        strategyId,
        realized: exact(realized),
        fills,
        buyNotional: exact(buy),
        sellNotional: exact(sell),
      });
    }
    l.applied = c.count;
    l.last = { executedAt, id: c.watermark.id };
    return l;
  }

  /** Applies `fills` (any order), all of which must come after the watermark. */
  apply(fills: readonly BookFill[]): void {
    const sorted = [...fills].sort(compareFills);
    if (sorted.length && this.last && compareFills(sorted[0], this.last) <= 0) {
      throw new RangeError(`fill ${sorted[0].id} is not after the ledger's last fill ${this.last.id}`);
    }
    for (const f of sorted) this.applyOne(f);
  }

  private applyOne(f: BookFill): void {
    let book = this.positions.get(f.strategyId);
    if (!book) this.positions.set(f.strategyId, (book = new Map()));
    const qty = exact(f.qty);
    const price = exact(f.price);
    const before = book.get(f.symbol);
    const c = applyFillExact(before?.qty ?? ZERO, before?.avgEntryPrice ?? ZERO, f.side, qty, price);
    book.set(f.symbol, {
      qty: c.qty,
      avgEntryPrice: c.avgEntryPrice,
      realizedPl: (before?.realizedPl ?? ZERO).plus(c.realizedDelta),
    });
    const oldQty = before?.qty ?? ZERO;
    const oldCost = oldQty.isZero() ? ZERO : oldQty.times(before?.avgEntryPrice ?? ZERO);
    const t = this.totals.get(f.symbol) ?? { qty: ZERO, realizedPl: ZERO, cost: ZERO };
    this.totals.set(f.symbol, {
      qty: t.qty.plus(c.qty).minus(oldQty),
      realizedPl: t.realizedPl.plus(c.realizedDelta),
      cost: t.cost.plus(c.qty.times(c.avgEntryPrice)).minus(oldCost),
    });
    const date = utcDate(f.executedAt);
    const key = `${date}\u0000${f.strategyId}`;
    let day = this.days.get(key);
    if (!day) {
      day = { date, strategyId: f.strategyId, realized: ZERO, fills: 0, buyNotional: ZERO, sellNotional: ZERO };
      this.days.set(key, day);
    }
    day.realized = day.realized.plus(c.realizedDelta);
    day.fills += 1;
    if (f.side === 'buy') day.buyNotional = day.buyNotional.plus(qty.times(price));
    else day.sellNotional = day.sellNotional.plus(qty.times(price));
    this.applied += 1;
    this.last = { executedAt: f.executedAt, id: f.id };
  }

  /** The books of `strategies` (undefined: all), as text; only `symbol` when given. */
  books(strategies?: readonly string[], symbol?: string): Books {
    const wanted = strategies && new Set(strategies);
    const out: Books = new Map();
    for (const [strategyId, book] of this.positions) {
      if (wanted && !wanted.has(strategyId)) continue;
      const copy = new Map<string, PositionState>();
      for (const [s, p] of book) {
        if (symbol !== undefined && s !== symbol) continue;
        copy.set(s, { qty: plain(p.qty), avgEntryPrice: plain(p.avgEntryPrice), realizedPl: plain(p.realizedPl) });
      }
      if (copy.size || symbol === undefined) out.set(strategyId, copy);
    }
    return out;
  }

  /** Every strategy's position per symbol, summed (only `symbol` when given). */
  symbolTotals(symbol?: string): Map<string, SymbolTotals> {
    const out = new Map<string, SymbolTotals>();
    for (const [s, t] of this.totals) if (symbol === undefined || s === symbol) out.set(s, { ...t });
    return out;
  }

  /** The day figures of `strategies` (undefined: all) for dates in [start, end] (YYYY-MM-DD, inclusive). */
  dayFigures(start: string, end: string, strategies?: readonly string[]): DayFigures[] {
    const wanted = strategies && new Set(strategies);
    const out: DayFigures[] = [];
    for (const d of this.days.values()) {
      if (d.date < start || d.date > end || (wanted && !wanted.has(d.strategyId))) continue;
      out.push({ ...d });
    }
    return out;
  }
}
