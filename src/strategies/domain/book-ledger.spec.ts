import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import { PositionState } from '../../positions/domain/position-math';
import { rebuildPosition } from '../../positions/domain/position-rebuild';
import { BookLedger, unattributedFromTotals } from './book-ledger';
import { dailyPerformance, dailyPerformanceOf } from './performance';
import { BookFill, compareFills, replayBooks, unattributed, unattributedUnrealized } from './strategy-books';

const t0 = Date.UTC(2026, 0, 5, 22, 30);

const fillsArb = fc
  .array(
    fc.record({
      strategyId: fc.constantFrom('alpha', 'beta', 'gamma'),
      symbol: fc.constantFrom('AAPL', 'MSFT'),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      qty: fc.integer({ min: 1, max: 500 }).map(String),
      price: fc.integer({ min: 1, max: 50_000_000 }).map((n) => new Decimal(n).div(10_000).toFixed()),
      // Hours apart: fills span several UTC days.
      at: fc.integer({ min: 0, max: 60 }),
    }),
    { maxLength: 40 },
  )
  .map((rows) =>
    rows.map((r, i): BookFill => ({ ...r, id: String(i + 1), executedAt: new Date(t0 + r.at * 3_600_000) })),
  );

/** Splits the fills, in execution order, into consecutive batches at the given cut points. */
function batches(fills: readonly BookFill[], cuts: readonly number[]): BookFill[][] {
  const sorted = [...fills].sort(compareFills);
  const points = [...new Set(cuts.map((c) => c % (sorted.length + 1)))].sort((a, b) => a - b);
  const out: BookFill[][] = [];
  let from = 0;
  for (const p of [...points, sorted.length]) {
    // Shuffled within the batch: apply() sorts.
    out.push(sorted.slice(from, p).reverse());
    from = p;
  }
  return out;
}

describe('BookLedger', () => {
  it('applied in batches, its books and day figures are exactly those of one replay of every fill', () => {
    fc.assert(
      fc.property(fillsArb, fc.array(fc.nat(), { maxLength: 4 }), (fills, cuts) => {
        const ledger = new BookLedger();
        for (const b of batches(fills, cuts)) ledger.apply(b);
        const replay = replayBooks(fills);
        expect(ledger.books()).toEqual(replay.books);
        expect(ledger.count).toBe(fills.length);
        for (const scope of [undefined, ['alpha'], ['beta', 'gamma']]) {
          const mine = scope ? fills.filter((f) => scope.includes(f.strategyId)) : fills;
          expect(ledger.books(scope)).toEqual(replayBooks(mine).books);
          expect(ledger.books(scope, 'MSFT')).toEqual(replayBooks(mine.filter((f) => f.symbol === 'MSFT')).books);
          for (const [start, end] of [
            ['2026-01-05', '2026-01-08'],
            ['2026-01-06', '2026-01-06'],
          ]) {
            expect(dailyPerformanceOf(ledger.dayFigures(start, end, scope), [], [], start, end)).toEqual(
              dailyPerformance(replayBooks(mine).realized, [], [], start, end),
            );
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('restored from a checkpoint (through JSON) at any point and extended, it equals one replay of every fill', () => {
    fc.assert(
      fc.property(fillsArb, fc.array(fc.nat(), { maxLength: 4 }), (fills, cuts) => {
        const whole = new BookLedger();
        whole.apply(fills);
        let ledger = new BookLedger();
        for (const b of batches(fills, cuts)) {
          const cp = ledger.toCheckpoint();
          if (cp) ledger = BookLedger.fromCheckpoint(JSON.parse(JSON.stringify(cp)));
          else expect(ledger.count).toBe(0);
          ledger.apply(b);
        }
        expect(ledger.count).toBe(fills.length);
        expect(ledger.watermark).toEqual(whole.watermark);
        expect(ledger.books()).toEqual(replayBooks(fills).books);
        expect(ledger.symbolTotals()).toEqual(whole.symbolTotals());
        expect(ledger.dayFigures('2026-01-01', '2026-01-31')).toEqual(whole.dayFigures('2026-01-01', '2026-01-31'));
        // A late fill (at or before the restored watermark) is still refused: the caller replays.
        const w = ledger.watermark;
        if (w) {
          const late = { ...fills[0], id: '0', executedAt: new Date(w.executedAt.getTime() - 1) };
          expect(() => ledger.apply([late])).toThrow(RangeError);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a malformed checkpoint', () => {
    const base = {
      watermark: { executedAt: new Date(t0).toISOString(), id: '1' },
      positions: [],
      totals: [],
      days: [],
    };
    expect(() => BookLedger.fromCheckpoint({ ...base, count: 0 })).toThrow(RangeError);
    expect(() => BookLedger.fromCheckpoint({ ...base, count: 1, watermark: { executedAt: 'nope', id: '1' } })).toThrow(
      RangeError,
    );
    expect(() =>
      BookLedger.fromCheckpoint({ ...base, count: 1, watermark: { executedAt: base.watermark.executedAt, id: 'x' } }),
    ).toThrow(RangeError);
  });

  it("unattributed from the books' sums equals unattributed() and unattributedUnrealized() of every book", () => {
    const markArb = fc.option(
      fc.integer({ min: 1, max: 50_000_000 }).map((n) => new Decimal(n).div(10_000).toFixed()),
      { nil: null },
    );
    fc.assert(
      fc.property(fillsArb, fillsArb, markArb, markArb, (fills, orphans, aaplMark, msftMark) => {
        const marks: Record<string, string | null> = { AAPL: aaplMark, MSFT: msftMark };
        // The account: every strategy's fills plus some no strategy sent (corrections, orphans).
        const all = [...fills, ...orphans.map((f) => ({ ...f, id: String(Number(f.id) + 1000), strategyId: '?' }))];
        const account = new Map<string, PositionState>();
        for (const symbol of new Set(all.map((f) => f.symbol))) {
          const mine = all.filter((f) => f.symbol === symbol).sort(compareFills);
          account.set(symbol, rebuildPosition(mine.map((f) => ({ ...f, realizedPl: '0' }))).position);
        }
        const ledger = new BookLedger();
        ledger.apply(fills);
        const books = replayBooks(fills).books;
        const expected = [];
        for (const [symbol, r] of unattributed(account, books)) {
          const mark = marks[symbol] ?? null;
          const inBooks = [...books.values()].map((b) => b.get(symbol)).filter((p): p is PositionState => !!p);
          const u = mark === null ? null : unattributedUnrealized(account.get(symbol), inBooks, mark);
          if (
            new Decimal(r.qty).isZero() &&
            new Decimal(r.realizedPl).isZero() &&
            (u === null || new Decimal(u).isZero())
          )
            continue;
          expected.push({ symbol, qty: r.qty, realized_pl: r.realizedPl, unrealized_pl: u });
        }
        expect(unattributedFromTotals(account, ledger.symbolTotals(), (s) => marks[s] ?? null)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a batch with a fill at or before the last one applied, and changes nothing', () => {
    const f = (id: number, at: number): BookFill => ({
      id: String(id),
      strategyId: 'alpha',
      symbol: 'AAPL',
      side: 'buy',
      qty: '1',
      price: '10',
      executedAt: new Date(t0 + at),
    });
    const ledger = new BookLedger();
    ledger.apply([f(2, 1000)]);
    expect(() => ledger.apply([f(3, 2000), f(1, 1000)])).toThrow(RangeError);
    expect(() => ledger.apply([f(2, 1000)])).toThrow(RangeError);
    expect(ledger.count).toBe(1);
    expect(ledger.watermark).toEqual({ executedAt: new Date(t0 + 1000), id: '2' });
    // Same millisecond, higher id: after the watermark.
    ledger.apply([f(10, 1000)]);
    expect(ledger.books().get('alpha')?.get('AAPL')).toEqual({ qty: '2', avgEntryPrice: '10', realizedPl: '0' });
  });
});
