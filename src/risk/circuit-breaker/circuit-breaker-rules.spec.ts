import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import {
  evaluateBrokerErrors,
  evaluateDailyLoss,
  evaluateDrawdown,
  evaluateStaleMarketData,
  HeldSymbolPrice,
} from './circuit-breaker-rules';

describe('evaluateDailyLoss', () => {
  it('trips exactly at the limit and one cent past it, not one cent short', () => {
    expect(evaluateDailyLoss('-4999.99', '5000')).toBeNull();
    expect(evaluateDailyLoss('-5000', '5000')).toMatchObject({
      reasonCode: 'DAILY_LOSS',
      details: { total_pnl: '-5000', daily_loss_limit: '5000' },
    });
    expect(evaluateDailyLoss('-5000.01', '5000')?.reasonCode).toBe('DAILY_LOSS');
  });

  it('never trips on a gain or flat day', () => {
    expect(evaluateDailyLoss('0', '5000')).toBeNull();
    expect(evaluateDailyLoss('123.45', '0.01')).toBeNull();
  });

  it('trips iff total ≤ −limit (exact decimals, no float rounding)', () => {
    const cents = (min: number, max: number) => fc.integer({ min, max }).map((n) => new Decimal(n).div(100).toFixed());
    fc.assert(
      fc.property(cents(-1e9, 1e9), cents(1, 1e9), (total, limit) => {
        const tripped = evaluateDailyLoss(total, limit) !== null;
        expect(tripped).toBe(new Decimal(total).lte(new Decimal(limit).neg()));
      }),
    );
  });
});

describe('evaluateDrawdown', () => {
  it('trips exactly at the maximum drawdown, not a cent above it', () => {
    // 10 % of 100000 is 10000: equity 90000 is exactly at the limit.
    expect(evaluateDrawdown('90000.01', '100000', '0.10')).toBeNull();
    expect(evaluateDrawdown('90000', '100000', '0.10')).toMatchObject({
      reasonCode: 'DRAWDOWN',
      details: { equity: '90000', peak_equity: '100000', drawdown_pct: '0.1', max_drawdown_pct: '0.1' },
    });
    expect(evaluateDrawdown('89999.99', '100000', '0.10')?.reasonCode).toBe('DRAWDOWN');
  });

  it('does not trip at or above the peak, or without a positive peak', () => {
    expect(evaluateDrawdown('100000', '100000', '0.01')).toBeNull();
    expect(evaluateDrawdown('0', '0', '0.01')).toBeNull();
  });

  it('trips iff (peak − equity) / peak ≥ max', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e8 }),
        fc.integer({ min: 1, max: 1e8 }),
        fc.integer({ min: 1, max: 100 }),
        (eqCents, peakCents, pct) => {
          const equity = new Decimal(eqCents).div(100).toFixed();
          const peak = new Decimal(peakCents).div(100).toFixed();
          const max = new Decimal(pct).div(100).toFixed();
          const expected = new Decimal(peak).minus(equity).gte(new Decimal(peak).mul(max));
          expect(evaluateDrawdown(equity, peak, max) !== null).toBe(expected);
        },
      ),
    );
  });
});

describe('evaluateStaleMarketData', () => {
  const now = new Date('2026-01-02T15:00:00.000Z');
  const at = (msAgo: number) => new Date(now.getTime() - msAgo);
  const price = (symbol: string, qty: string, msAgo: number): HeldSymbolPrice => ({
    symbol,
    qty,
    kind: 'price',
    timestamp: at(msAgo),
  });

  it('a price exactly max-age old is fresh; one millisecond older is stale', () => {
    expect(evaluateStaleMarketData([price('AAPL', '10', 300_000)], now, 300)).toBeNull();
    const d = evaluateStaleMarketData([price('AAPL', '10', 300_001)], now, 300);
    expect(d).toMatchObject({
      reasonCode: 'STALE_MARKET_DATA',
      details: { max_age_seconds: 300, symbols: [expect.objectContaining({ symbol: 'AAPL', age_ms: 300_001 })] },
    });
  });

  it('no price, or market data unavailable, for a held symbol counts as stale', () => {
    expect(evaluateStaleMarketData([{ symbol: 'A', qty: '-3', kind: 'none' }], now, 300)?.reasonCode).toBe(
      'STALE_MARKET_DATA',
    );
    const d = evaluateStaleMarketData(
      [price('OK', '1', 0), { symbol: 'B', qty: '2', kind: 'unavailable', error: 'timeout' }],
      now,
      300,
    );
    expect(d?.details.symbols).toEqual([
      expect.objectContaining({ symbol: 'B', problem: expect.stringContaining('timeout') }),
    ]);
  });

  it('ignores flat positions and an empty book', () => {
    expect(evaluateStaleMarketData([], now, 1)).toBeNull();
    expect(
      evaluateStaleMarketData([{ symbol: 'F', qty: '0', kind: 'none' }, price('G', '0', 10_000_000)], now, 1),
    ).toBeNull();
  });
});

describe('evaluateBrokerErrors', () => {
  const last = { operation: 'submitOrder', kind: 'unknown_outcome', message: 'timeout' };

  it('trips on the threshold-th error in the window, not before', () => {
    expect(evaluateBrokerErrors({ full: false, count: 9 }, 10, 60, last)).toBeNull();
    expect(evaluateBrokerErrors({ full: false, count: 10 }, 10, 60, last)).toMatchObject({
      reasonCode: 'BROKER_ERRORS',
      details: { threshold: 10, window_seconds: 60, last_error: last },
    });
  });

  it('a full window (the hit was not even recorded) trips too', () => {
    expect(evaluateBrokerErrors({ full: true }, 3, 60, last)?.reasonCode).toBe('BROKER_ERRORS');
  });
});
