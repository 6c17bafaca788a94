import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import { computeDailyPnl, PricedPosition, utcMidnight, utcTradeDate } from './daily-pnl';

const now = new Date('2026-03-10T23:59:59.999Z');
const pos = (symbol: string, qty: string, avg: string, price: string | null): PricedPosition => ({
  symbol,
  qty,
  avgEntryPrice: avg,
  price,
  priceSource: price === null ? null : 'market_data',
});

describe('utcMidnight / utcTradeDate', () => {
  it('is the start of the UTC day, whatever the time', () => {
    expect(utcMidnight(now).toISOString()).toBe('2026-03-10T00:00:00.000Z');
    expect(utcMidnight(new Date('2026-03-11T00:00:00.000Z')).toISOString()).toBe('2026-03-11T00:00:00.000Z');
    expect(utcTradeDate(now)).toBe('2026-03-10');
  });
});

describe('computeDailyPnl', () => {
  it('adds realized and unrealized exactly, long and short', () => {
    const pnl = computeDailyPnl(
      '-12.5',
      [pos('AAPL', '10', '100.10', '99.9'), pos('TSLA', '-3', '200', '210.01'), pos('FLAT', '0', '0', '5')],
      now,
    );
    // 10 × (99.9 − 100.1) = −2; −3 × (210.01 − 200) = −30.03
    expect(pnl).toMatchObject({
      tradeDate: '2026-03-10',
      realized: '-12.5',
      unrealized: '-32.03',
      total: '-44.53',
      unpriced: [],
      computedAt: now,
    });
    expect(pnl.positions.map((p) => [p.symbol, p.unrealized])).toEqual([
      ['AAPL', '-2'],
      ['TSLA', '-30.03'],
    ]);
  });

  it('lists positions without a price and leaves them out of the total', () => {
    const pnl = computeDailyPnl('0', [pos('AAA', '5', '10', null), pos('BBB', '1', '10', '11')], now);
    expect(pnl.unpriced).toEqual(['AAA']);
    expect(pnl.unrealized).toBe('1');
    expect(pnl.total).toBe('1');
  });

  it('never answers -0', () => {
    expect(computeDailyPnl('-0', [pos('X', '-5', '10', '10')], now)).toMatchObject({
      realized: '0',
      unrealized: '0',
      total: '0',
    });
  });

  it('total = realized + Σ qty × (price − avg) for any figures (no float drift)', () => {
    const cents = fc.integer({ min: -10_000_000, max: 10_000_000 }).map((n) => new Decimal(n).div(100).toFixed());
    const price = fc.integer({ min: 1, max: 10_000_000 }).map((n) => new Decimal(n).div(10_000).toFixed());
    fc.assert(
      fc.property(
        cents,
        fc.array(fc.tuple(fc.integer({ min: -1000, max: 1000 }), price, price), { maxLength: 8 }),
        (realized, list) => {
          const positions = list.map(([q, avg, px], i) => pos(`S${i}`, String(q), avg, px));
          const pnl = computeDailyPnl(realized, positions, now);
          const expected = list.reduce(
            (acc, [q, avg, px]) => acc.plus(new Decimal(q).mul(new Decimal(px).minus(avg))),
            new Decimal(realized),
          );
          expect(new Decimal(pnl.total).eq(expected)).toBe(true);
          expect(new Decimal(pnl.realized).plus(pnl.unrealized).eq(pnl.total)).toBe(true);
        },
      ),
    );
  });
});
