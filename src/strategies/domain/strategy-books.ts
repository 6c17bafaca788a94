/**
 * Per-strategy books (docs/strategies-and-pnl.md#per-strategy-books): each
 * strategy's position and realized P&L per symbol, computed from its own
 * fills with the account's position math (src/positions/domain), and the
 * `unattributed` remainder: the account's figures minus the sum of the
 * strategies'.
 *
 * Invariants:
 * - a strategy's book depends only on its own fills, in execution order;
 * - for every symbol, Σ strategies + unattributed = account, exactly, for qty,
 *   realized P&L and (at any mark) unrealized P&L: nothing is silently dropped;
 * - when every fill of a symbol belongs to a strategy, the unattributed qty is
 *   0 and the unattributed total P&L (realized + unrealized) is 0 at every
 *   mark: what remains is only the netting between strategies that traded
 *   the symbol at different prices, moved between realized and unrealized.
 */
import { exact, plain } from '../../common/decimal';
import { applyFillToPosition, FLAT, PositionState, unrealizedPl } from '../../positions/domain/position-math';

export interface BookFill {
  /** Numeric id as a string (BIGINT): breaks ties on time. */
  id: string;
  strategyId: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: string;
  price: string;
  executedAt: Date;
}

/** strategy id → symbol → position. */
export type Books = Map<string, Map<string, PositionState>>;

export interface SymbolFigures {
  qty: string;
  realizedPl: string;
}

/** Every strategy's book per symbol, from `fills` in any order (sorted by execution time, then id). */
export function strategyBooks(fills: readonly BookFill[]): Books {
  return replayBooks(fills).books;
}

/** The books, and what each fill realized in its own strategy's book, in execution order. */
export function replayBooks(fills: readonly BookFill[]): {
  books: Books;
  realized: Array<{ fill: BookFill; realizedDelta: string }>;
} {
  const sorted = [...fills].sort(compareFills);
  const books: Books = new Map();
  const realized: Array<{ fill: BookFill; realizedDelta: string }> = [];
  for (const f of sorted) {
    let book = books.get(f.strategyId);
    if (!book) books.set(f.strategyId, (book = new Map()));
    const before = book.get(f.symbol) ?? FLAT;
    const c = applyFillToPosition(before, { side: f.side, qty: f.qty, price: f.price });
    book.set(f.symbol, { qty: c.qty, avgEntryPrice: c.avgEntryPrice, realizedPl: c.realizedPl });
    realized.push({ fill: f, realizedDelta: c.realizedDelta });
  }
  return { books, realized };
}

/**
 * Per symbol of the account (or of any book): the account's qty and realized
 * P&L minus the strategies' sums. Symbols only the strategies know count
 * the account as flat there.
 */
export function unattributed(account: ReadonlyMap<string, SymbolFigures>, books: Books): Map<string, SymbolFigures> {
  const out = new Map<string, SymbolFigures>();
  const symbols = new Set<string>(account.keys());
  for (const book of books.values()) for (const s of book.keys()) symbols.add(s);
  for (const symbol of [...symbols].sort()) {
    const a = account.get(symbol);
    let qty = exact(a?.qty ?? '0');
    let realized = exact(a?.realizedPl ?? '0');
    for (const book of books.values()) {
      const p = book.get(symbol);
      if (!p) continue;
      qty = qty.minus(p.qty);
      realized = realized.minus(p.realizedPl);
    }
    out.set(symbol, { qty: plain(qty), realizedPl: plain(realized) });
  }
  return out;
}

/**
 * Unattributed unrealized P&L of one symbol at `mark`: the account's minus
 * the strategies'.
 */
export function unattributedUnrealized(
  account: PositionState | undefined,
  strategyPositions: readonly PositionState[],
  mark: string,
): string {
  let total = exact(account ? unrealizedPl(account, mark) : '0');
  for (const p of strategyPositions) total = total.minus(unrealizedPl(p, mark));
  return plain(total);
}

/** Execution order: by execution time (ms), then id. */
export function compareFills(a: { executedAt: Date; id: string }, b: { executedAt: Date; id: string }): number {
  return a.executedAt.getTime() - b.executedAt.getTime() || compareIds(a.id, b.id);
}

/** Numeric ids as strings (BIGINT): shorter is smaller. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
