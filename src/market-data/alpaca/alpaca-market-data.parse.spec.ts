import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import {
  averageDailyVolumeFromBars,
  barsLookbackDays,
  classifyMarketDataFailure,
  newYorkDate,
  quoteToObservation,
  tradeToObservation,
  wireDecimal,
} from './alpaca-market-data.parse';

const NOW = new Date('2026-01-07T15:00:00.000Z'); // Wednesday 10:00 in New York

/** A daily bar as the SDK hands it over: t at midnight New York (05:00Z in winter). */
const bar = (date: string, v: number) => ({ t: new Date(`${date}T05:00:00Z`), v });

describe('wireDecimal', () => {
  it('reads JSON numbers exactly as Alpaca wrote them', () => {
    expect(wireDecimal(150.25)?.toFixed()).toBe('150.25');
    expect(wireDecimal(0.1)?.toFixed()).toBe('0.1');
    expect(wireDecimal(187.1234)?.toFixed()).toBe('187.1234');
    expect(wireDecimal(123456789012)?.toFixed()).toBe('123456789012');
  });

  it('reads decimal strings', () => {
    expect(wireDecimal('150.50')?.toFixed()).toBe('150.5');
  });

  it.each([NaN, Infinity, '', 'abc', null, undefined, {}, '1,5'])('%p is not a number', (v) => {
    expect(wireDecimal(v)).toBeUndefined();
  });

  it('round-trips every price with at most 4 decimals and 15 significant digits', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 99_999_999_999n }), fc.integer({ min: 0, max: 4 }), (units, dp) => {
        const text = new Decimal(units.toString()).div(new Decimal(10).pow(dp)).toFixed();
        expect(wireDecimal(Number(text))?.toFixed()).toBe(text);
      }),
    );
  });
});

describe('tradeToObservation', () => {
  it("takes the trade's price and the exchange's timestamp", () => {
    const t = new Date('2026-01-07T14:59:58.123Z');
    expect(tradeToObservation('AAPL', { p: 187.12, t, s: 100 } as never)).toEqual({
      symbol: 'AAPL',
      price: '187.12',
      timestamp: t,
      source: 'trade',
    });
  });

  it('keeps an old timestamp old (no fetch time)', () => {
    const old = new Date('2025-12-01T20:59:59.000Z');
    expect(tradeToObservation('AAPL', { p: 10, t: old })?.timestamp).toEqual(old);
  });

  it.each([
    ['no trade', null],
    ['no price', { t: NOW }],
    ['zero price', { p: 0, t: NOW }],
    ['negative price', { p: -1, t: NOW }],
    ['invalid date', { p: 10, t: new Date('nope') }],
    ['canceled', { p: 10, t: NOW, u: 'canceled' }],
    ['incorrect', { p: 10, t: NOW, u: 'incorrect' }],
  ])('%s → null', (_, trade) => {
    expect(tradeToObservation('AAPL', trade)).toBeNull();
  });

  it('a correction stands', () => {
    expect(tradeToObservation('AAPL', { p: 10, t: NOW, u: 'corrected' })?.price).toBe('10');
  });
});

describe('quoteToObservation', () => {
  it('is the midpoint in exact decimals, with the quote time', () => {
    const t = new Date('2026-01-07T14:59:59.000Z');
    expect(quoteToObservation('AAPL', { bp: 100.01, ap: 100.04, t })).toEqual({
      symbol: 'AAPL',
      price: '100.025',
      timestamp: t,
      source: 'quote',
    });
    expect(quoteToObservation('X', { bp: 0.1, ap: 0.2, t })?.price).toBe('0.15');
  });

  it.each([
    ['no bid (0)', { bp: 0, ap: 10, t: NOW }],
    ['no ask (0)', { bp: 10, ap: 0, t: NOW }],
    ['crossed', { bp: 10.5, ap: 10, t: NOW }],
    ['no time', { bp: 10, ap: 11 }],
    ['nothing', undefined],
  ])('%s → null', (_, quote) => {
    expect(quoteToObservation('AAPL', quote)).toBeNull();
  });

  it('the midpoint lies between bid and ask', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000 }), (bidCents, spread) => {
        const bid = bidCents / 100;
        const ask = (bidCents + spread) / 100;
        const mid = new Decimal(quoteToObservation('X', { bp: bid, ap: ask, t: NOW })!.price);
        expect(mid.gte(String(bid)) && mid.lte(String(ask))).toBe(true);
        expect(mid.mul(2).eq(new Decimal(String(bid)).plus(String(ask)))).toBe(true);
      }),
    );
  });
});

describe('averageDailyVolumeFromBars', () => {
  const bars = [
    bar('2026-01-02', 100),
    bar('2026-01-05', 200),
    bar('2026-01-06', 301),
    bar('2026-01-07', 5), // today: partial, left out
  ];

  it('averages the most recent `days` completed sessions in decimals', () => {
    expect(averageDailyVolumeFromBars('AAPL', bars, 3, NOW)).toEqual({
      symbol: 'AAPL',
      adv: '200.33',
      days: 3,
      asOf: new Date('2026-01-06T05:00:00Z'),
    });
  });

  it('takes the newest bars whatever their order', () => {
    const shuffled = [bars[2], bars[0], bars[3], bars[1]];
    expect(averageDailyVolumeFromBars('AAPL', shuffled, 2, NOW)).toMatchObject({ adv: '250.5', days: 2 });
  });

  it('averages what there is when fewer bars than days exist', () => {
    expect(averageDailyVolumeFromBars('AAPL', bars, 20, NOW)).toMatchObject({ adv: '200.33', days: 3 });
  });

  it('keeps large volumes exact', () => {
    const big = [bar('2026-01-05', 90_071_992_547_409), bar('2026-01-06', 90_071_992_547_410)];
    expect(averageDailyVolumeFromBars('X', big, 2, NOW)?.adv).toBe('90071992547409.5');
  });

  it('after the close the same day, today is still left out (its bar may still change after hours)', () => {
    const evening = new Date('2026-01-07T23:30:00Z'); // 18:30 New York
    expect(averageDailyVolumeFromBars('AAPL', bars, 1, evening)).toMatchObject({ adv: '301', days: 1 });
  });

  it.each([
    ['no bars', []],
    ['null', null],
    ['only today', [bar('2026-01-07', 5)]],
    ['unreadable', [{ v: 'x', t: new Date('2026-01-05T05:00:00Z') }, { v: 10 }]],
  ])('%s → null', (_, input) => {
    expect(averageDailyVolumeFromBars('AAPL', input as never, 20, NOW)).toBeNull();
  });

  it('lies between the smallest and largest volume used, and days × adv ≈ the total', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2_000_000_000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 60 }),
        (volumes, days) => {
          const input = volumes.map((v, i) => ({ t: new Date(Date.UTC(2025, 0, 1) + i * 86_400_000), v }));
          const result = averageDailyVolumeFromBars('X', input, days, NOW)!;
          const used = volumes.slice(-Math.min(days, volumes.length));
          expect(result.days).toBe(used.length);
          const adv = new Decimal(result.adv);
          expect(adv.gte(Math.min(...used)) && adv.lte(Math.max(...used))).toBe(true);
          const total = used.reduce((s, v) => s.plus(v), new Decimal(0));
          expect(adv.mul(used.length).minus(total).abs().lte(new Decimal('0.005').mul(used.length))).toBe(true);
        },
      ),
    );
  });
});

describe('newYorkDate and the lookback', () => {
  it('dates sessions in New York', () => {
    expect(newYorkDate(new Date('2026-01-07T03:00:00Z'))).toBe('2026-01-06');
    expect(newYorkDate(new Date('2026-07-07T05:00:00Z'))).toBe('2026-07-07');
  });

  it('asks for enough calendar days to hold `days` sessions around holidays', () => {
    expect(barsLookbackDays(20)).toBeGreaterThanOrEqual(Math.ceil((21 * 7) / 5) + 5);
    fc.assert(fc.property(fc.integer({ min: 1, max: 250 }), (d) => barsLookbackDays(d) >= (d + 1) * 1.4));
  });
});

describe('classifyMarketDataFailure', () => {
  it('404 is not found', () => {
    expect(classifyMarketDataFailure({ name: 'NotFoundError', status: 404, message: 'no trade' }).kind).toBe(
      'not_found',
    );
  });

  it.each([
    ['5xx', { name: 'ApiError', status: 503, message: 'down' }],
    ['429', { name: 'RateLimitError', status: 429, message: 'slow down' }],
    ['401', { name: 'AuthError', status: 401, message: 'unauthorized' }],
    ['403', { name: 'PermissionError', status: 403, message: 'subscription' }],
    ['fetch failure', { name: 'FetchError', message: 'The request was aborted' }],
    ['raw TypeError', new TypeError('fetch failed')],
    ['a string', 'boom'],
  ])('%s is unavailable', (_, err) => {
    const c = classifyMarketDataFailure(err);
    expect(c.kind).toBe('unavailable');
    expect(c.reason.length).toBeGreaterThan(0);
  });
});
