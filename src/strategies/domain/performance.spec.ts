import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import { dailyPerformance, daysInRange, parseDay } from './performance';
import { BookFill, replayBooks } from './strategy-books';

const f = (id: number, strategyId: string, side: 'buy' | 'sell', qty: string, price: string, at: string): BookFill => ({
  id: String(id),
  strategyId,
  symbol: 'AAPL',
  side,
  qty,
  price,
  executedAt: new Date(at),
});

describe('dailyPerformance', () => {
  it('buckets realized P&L, fills and notional by UTC day and strategy, with totals', () => {
    const { realized } = replayBooks([
      f(1, 'alpha', 'buy', '10', '100', '2026-01-05T15:00:00Z'),
      f(2, 'alpha', 'sell', '4', '102.5', '2026-01-06T15:00:00Z'),
      f(3, 'beta', 'sell', '3', '101', '2026-01-06T16:00:00Z'),
      f(4, 'alpha', 'sell', '6', '99', '2026-01-07T23:59:59Z'),
    ]);
    const out = dailyPerformance(
      realized,
      [{ date: '2026-01-06', strategyId: 'alpha', count: 2 }],
      [{ date: '2026-01-06', strategyId: 'beta', count: 1 }],
      '2026-01-06',
      '2026-01-07',
    );
    expect(out.days).toEqual([
      {
        date: '2026-01-06',
        strategy_id: 'alpha',
        realized_pl: '10',
        fills: 1,
        buy_notional: '0',
        sell_notional: '410',
        orders: 2,
        rejections: 0,
      },
      {
        date: '2026-01-06',
        strategy_id: 'beta',
        realized_pl: '0',
        fills: 1,
        buy_notional: '0',
        sell_notional: '303',
        orders: 0,
        rejections: 1,
      },
      {
        date: '2026-01-07',
        strategy_id: 'alpha',
        realized_pl: '-6',
        fills: 1,
        buy_notional: '0',
        sell_notional: '594',
        orders: 0,
        rejections: 0,
      },
    ]);
    expect(out.totals).toEqual({
      realized_pl: '4',
      fills: 3,
      buy_notional: '0',
      sell_notional: '1307',
      orders: 2,
      rejections: 1,
    });
  });

  it('property: over a range covering every fill, the realized total is the sum of the books', () => {
    const fillArb = fc.record({
      strategyId: fc.constantFrom('a', 'b'),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      qty: fc.integer({ min: 1, max: 100 }).map(String),
      price: fc.integer({ min: 1, max: 10_000_000 }).map((n) => new Decimal(n).div(1000).toFixed()),
      day: fc.integer({ min: 1, max: 28 }),
    });
    fc.assert(
      fc.property(fc.array(fillArb, { maxLength: 30 }), (rows) => {
        const fills = rows.map((r, i) =>
          f(i + 1, r.strategyId, r.side, r.qty, r.price, `2026-02-${String(r.day).padStart(2, '0')}T12:00:00Z`),
        );
        const { books, realized } = replayBooks(fills);
        const out = dailyPerformance(realized, [], [], '2026-02-01', '2026-02-28');
        let total = new Decimal(0);
        for (const b of books.values()) for (const p of b.values()) total = total.plus(p.realizedPl);
        expect(new Decimal(out.totals.realized_pl).eq(total)).toBe(true);
        expect(out.totals.fills).toBe(fills.length);
      }),
    );
  });
});

describe('parseDay / daysInRange', () => {
  it('accepts real calendar days only', () => {
    expect(parseDay('2026-02-28')).toBe('2026-02-28');
    for (const bad of ['2026-02-30', '2026-2-1', '20260201', '', 5, null, '2026-13-01'])
      expect(parseDay(bad)).toBeNull();
  });
  it('counts both ends', () => {
    expect(daysInRange('2026-01-01', '2026-01-01')).toBe(1);
    expect(daysInRange('2026-01-01', '2026-03-31')).toBe(90);
  });
});
