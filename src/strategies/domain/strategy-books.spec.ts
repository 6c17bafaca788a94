import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import { PositionState, unrealizedPl } from '../../positions/domain/position-math';
import { rebuildPosition } from '../../positions/domain/position-rebuild';
import {
  BookFill,
  replayBooks,
  strategyBooks,
  SymbolFigures,
  unattributed,
  unattributedUnrealized,
} from './strategy-books';

const t0 = Date.UTC(2026, 0, 5, 14, 30);

function fill(
  id: number,
  strategyId: string,
  side: 'buy' | 'sell',
  qty: string,
  price: string,
  sym = 'AAPL',
): BookFill {
  return { id: String(id), strategyId, symbol: sym, side, qty, price, executedAt: new Date(t0 + id * 1000) };
}

/** The account's positions as the gateway keeps them: every fill of the symbol, whoever sent it. */
function accountOf(fills: readonly BookFill[]): Map<string, PositionState> {
  const out = new Map<string, PositionState>();
  for (const symbol of new Set(fills.map((f) => f.symbol))) {
    const rebuilt = rebuildPosition(fills.filter((f) => f.symbol === symbol).map((f) => ({ ...f, realizedPl: '0' })));
    out.set(symbol, rebuilt.position);
  }
  return out;
}

const fillsArb = fc
  .array(
    fc.record({
      strategyId: fc.constantFrom('alpha', 'beta', 'gamma'),
      symbol: fc.constantFrom('AAPL', 'MSFT'),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      qty: fc.integer({ min: 1, max: 500 }).map(String),
      price: fc.integer({ min: 1, max: 50_000_000 }).map((n) => new Decimal(n).div(10_000).toFixed()),
      at: fc.integer({ min: 0, max: 20 }),
    }),
    { maxLength: 40 },
  )
  .map((rows) => rows.map((r, i) => ({ ...r, id: String(i + 1), executedAt: new Date(t0 + r.at * 1000) })));

const markArb = fc.integer({ min: 1, max: 50_000_000 }).map((n) => new Decimal(n).div(10_000).toFixed());

function sum(values: string[]): Decimal {
  return values.reduce((acc, v) => acc.plus(v), new Decimal(0));
}

describe('strategyBooks', () => {
  it('two strategies on one symbol: a partial close and a flip through zero, exact', () => {
    const books = strategyBooks([
      fill(1, 'alpha', 'buy', '100', '10'),
      fill(2, 'beta', 'buy', '50', '12'),
      fill(3, 'alpha', 'sell', '40', '11.5'), // partial close: 40 × 1.5
      fill(4, 'alpha', 'sell', '100', '9'), // closes 60 at 9 (−60), opens 40 short at 9
    ]);
    expect(books.get('alpha')?.get('AAPL')).toEqual({ qty: '-40', avgEntryPrice: '9', realizedPl: '0' });
    expect(books.get('beta')?.get('AAPL')).toEqual({ qty: '50', avgEntryPrice: '12', realizedPl: '0' });
    const account = accountOf([
      fill(1, 'alpha', 'buy', '100', '10'),
      fill(2, 'beta', 'buy', '50', '12'),
      fill(3, 'alpha', 'sell', '40', '11.5'),
      fill(4, 'alpha', 'sell', '100', '9'),
    ]);
    // Account: 150 @ 10.6667 (rounded), sells 40 @ 11.5, then 100 @ 9 → 10 long.
    const rest = unattributed(account, books).get('AAPL');
    expect(rest?.qty).toBe('0');
    expect(new Decimal(rest!.realizedPl).plus(books.get('alpha')!.get('AAPL')!.realizedPl).toFixed()).toBe(
      account.get('AAPL')!.realizedPl,
    );
  });

  it('a strategy realizes from its own fills, not at the account average', () => {
    const books = strategyBooks([
      fill(1, 'alpha', 'buy', '10', '100'),
      fill(2, 'beta', 'buy', '10', '110'),
      fill(3, 'beta', 'sell', '10', '105'),
    ]);
    expect(books.get('beta')?.get('AAPL')?.realizedPl).toBe('-50');
    expect(books.get('alpha')?.get('AAPL')).toEqual({ qty: '10', avgEntryPrice: '100', realizedPl: '0' });
    // The account sold at its average 105: realized 0; unattributed carries the netting (+50).
    const account = accountOf([
      fill(1, 'alpha', 'buy', '10', '100'),
      fill(2, 'beta', 'buy', '10', '110'),
      fill(3, 'beta', 'sell', '10', '105'),
    ]);
    expect(unattributed(account, books).get('AAPL')).toEqual({ qty: '0', realizedPl: '50' });
  });

  it('reconciliation corrections and orphans (account figures no strategy owns) land in unattributed', () => {
    const books = strategyBooks([fill(1, 'alpha', 'buy', '10', '100')]);
    const account = new Map<string, SymbolFigures>([
      ['AAPL', { qty: '12', realizedPl: '3.5' }],
      ['TSLA', { qty: '-5', realizedPl: '0' }],
    ]);
    expect(unattributed(account, books)).toEqual(
      new Map([
        ['AAPL', { qty: '2', realizedPl: '3.5' }],
        ['TSLA', { qty: '-5', realizedPl: '0' }],
      ]),
    );
  });

  it('property: strategies + unattributed = account exactly (qty, realized, unrealized at any mark)', () => {
    fc.assert(
      fc.property(fillsArb, markArb, (fills, mark) => {
        const books = strategyBooks(fills);
        const account = accountOf(fills);
        const rest = unattributed(account, books);
        for (const [symbol, acc] of account) {
          const mine = [...books.values()].map((b) => b.get(symbol)).filter((p): p is PositionState => !!p);
          const r = rest.get(symbol)!;
          expect(sum([...mine.map((p) => p.qty), r.qty]).eq(acc.qty)).toBe(true);
          expect(sum([...mine.map((p) => p.realizedPl), r.realizedPl]).eq(acc.realizedPl)).toBe(true);
          const u = unattributedUnrealized(acc, mine, mark);
          expect(sum([...mine.map((p) => unrealizedPl(p, mark)), u]).eq(unrealizedPl(acc, mark))).toBe(true);
          // Every fill is attributed: no shares are unattributed, and its total P&L is zero at every mark.
          expect(r.qty).toBe('0');
          expect(new Decimal(r.realizedPl).plus(u).isZero()).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: a book depends only on its own fills (other strategies trading alongside change nothing)', () => {
    fc.assert(
      fc.property(fillsArb, (fills) => {
        const all = strategyBooks(fills);
        const alone = strategyBooks(fills.filter((f) => f.strategyId === 'alpha'));
        expect(all.get('alpha') ?? new Map()).toEqual(alone.get('alpha') ?? new Map());
      }),
    );
  });

  it('property: fills no strategy owns are exactly the unattributed qty and cash P&L', () => {
    fc.assert(
      fc.property(
        fillsArb,
        fc.array(fc.integer({ min: 0, max: 39 }), { maxLength: 5 }),
        markArb,
        (fills, orphanIdx, mark) => {
          const orphans = new Set(orphanIdx.filter((i) => i < fills.length));
          const owned = fills.filter((_, i) => !orphans.has(i));
          const books = strategyBooks(owned);
          const account = accountOf(fills);
          const rest = unattributed(account, books);
          for (const [symbol, acc] of account) {
            const orphanFills = fills.filter((f, i) => orphans.has(i) && f.symbol === symbol);
            const signed = (f: BookFill) => (f.side === 'buy' ? new Decimal(f.qty) : new Decimal(f.qty).neg());
            const orphanQty = orphanFills.reduce((a, f) => a.plus(signed(f)), new Decimal(0));
            const orphanCash = orphanFills.reduce((a, f) => a.minus(signed(f).times(f.price)), new Decimal(0));
            const r = rest.get(symbol)!;
            expect(new Decimal(r.qty).eq(orphanQty)).toBe(true);
            const mine = [...books.values()].map((b) => b.get(symbol)).filter((p): p is PositionState => !!p);
            const u = unattributedUnrealized(acc, mine, mark);
            // realized + unrealized of the unattributed part = the orphans' cash P&L marked at `mark`.
            expect(new Decimal(r.realizedPl).plus(u).eq(orphanCash.plus(orphanQty.times(mark)))).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('replayBooks', () => {
  it("property: each strategy's per-fill realized deltas add up to its book's realized P&L", () => {
    fc.assert(
      fc.property(fillsArb, (fills) => {
        const { books, realized } = replayBooks(fills);
        for (const [strategyId, book] of books) {
          for (const [symbol, p] of book) {
            const deltas = realized.filter((r) => r.fill.strategyId === strategyId && r.fill.symbol === symbol);
            expect(sum(deltas.map((d) => d.realizedDelta)).eq(p.realizedPl)).toBe(true);
          }
        }
      }),
    );
  });
});
