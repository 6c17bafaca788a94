import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import type { AverageDailyVolume, PriceObservation } from '../../market-data/market-data.port';
import { checkFatFinger, FatFingerMarket, FatFingerOrder, FatFingerOrderType } from './fat-finger.check';
import { EffectiveThresholds } from './fat-finger-thresholds';

const NOW = new Date('2026-03-02T15:00:00.000Z');
const limits: EffectiveThresholds = {
  maxNotional: '100000',
  maxQty: '10000',
  maxAdvPct: '0.05',
  maxPriceAgeSeconds: 30,
};
const price = (p: string, ageMs = 0): PriceObservation => ({
  symbol: 'AAPL',
  price: p,
  timestamp: new Date(NOW.getTime() - ageMs),
  source: 'trade',
});
const adv = (v: string): AverageDailyVolume => ({ symbol: 'AAPL', adv: v, days: 20, asOf: NOW });
const noData: FatFingerMarket = { price: null, adv: null };
const market = (o: Partial<FatFingerOrder> & { qty: string }): FatFingerOrder => ({
  symbol: 'AAPL',
  side: 'buy',
  orderType: 'market',
  ...o,
});
const limit = (qty: string, limitPrice: string): FatFingerOrder => market({ qty, orderType: 'limit', limitPrice });
const codeOf = (...args: Parameters<typeof checkFatFinger>) => checkFatFinger(...args)?.code ?? null;

describe('checkFatFinger: max qty', () => {
  it('passes a qty equal to the limit and refuses one share more', () => {
    expect(codeOf(limit('10000', '1'), limits, noData, NOW)).toBeNull();
    const denial = checkFatFinger(limit('10001', '1'), limits, noData, NOW);
    expect(denial).toEqual({
      code: 'FAT_FINGER_MAX_QTY',
      status: 422,
      message: expect.stringContaining('10001'),
      details: { limit: '10000', value: '10001' },
    });
  });

  it('is checked first, before any price is needed', () => {
    expect(codeOf(market({ qty: '10001' }), limits, noData, NOW)).toBe('FAT_FINGER_MAX_QTY');
  });
});

describe('checkFatFinger: the notional price', () => {
  it('uses the limit price of limit and stop-limit orders, without market data', () => {
    expect(codeOf(limit('1000', '100'), limits, noData, NOW)).toBeNull();
    const d = checkFatFinger(
      market({ qty: '1000', orderType: 'stop_limit', limitPrice: '100.01', stopPrice: '99' }),
      limits,
      noData,
      NOW,
    );
    expect(d?.code).toBe('FAT_FINGER_MAX_NOTIONAL');
    expect(d?.details).toMatchObject({ price: '100.01', price_source: 'limit_price', value: '100010' });
  });

  it('uses the stop price of stop orders, without market data', () => {
    const order = (stopPrice: string) => market({ qty: '1000', orderType: 'stop', stopPrice });
    expect(codeOf(order('100'), limits, noData, NOW)).toBeNull();
    expect(checkFatFinger(order('100.01'), limits, noData, NOW)?.details).toMatchObject({
      price_source: 'stop_price',
    });
  });

  it('ignores the market price for priced orders, even when stale', () => {
    expect(codeOf(limit('10', '5'), limits, { price: price('1000000', 3_600_000), adv: null }, NOW)).toBeNull();
  });

  it('refuses a market order without a market price: PRICE_UNAVAILABLE, with the source error when known', () => {
    const d = checkFatFinger(market({ qty: '1' }), limits, noData, NOW);
    expect(d).toEqual({
      code: 'PRICE_UNAVAILABLE',
      status: 422,
      message: "no market price for AAPL; a market order's notional cannot be computed",
      details: undefined,
    });
    const e = checkFatFinger(market({ qty: '1' }), limits, { price: null, priceError: 'feed down', adv: null }, NOW);
    expect(e?.message).toContain('feed down');
    expect(e?.details).toEqual({ reason: 'feed down' });
  });

  it('falls back to the market price when a priced order lacks its price', () => {
    expect(codeOf(market({ qty: '1', orderType: 'limit', limitPrice: null }), limits, noData, NOW)).toBe(
      'PRICE_UNAVAILABLE',
    );
  });

  it('accepts a price exactly max_price_age_seconds old and refuses one a millisecond older: PRICE_STALE', () => {
    expect(codeOf(market({ qty: '1' }), limits, { price: price('10', 30_000), adv: null }, NOW)).toBeNull();
    const d = checkFatFinger(market({ qty: '1' }), limits, { price: price('10', 30_001), adv: null }, NOW);
    expect(d?.code).toBe('PRICE_STALE');
    expect(d?.message).toContain('30.001 s old');
    expect(d?.message).toContain('30 s allowed');
    expect(d?.details).toEqual({
      price: '10',
      price_time: new Date(NOW.getTime() - 30_001).toISOString(),
      price_age_seconds: '30.001',
      limit: '30',
    });
  });

  it('treats a price stamped ahead of this clock as fresh', () => {
    expect(codeOf(market({ qty: '1' }), limits, { price: price('10', -5_000), adv: null }, NOW)).toBeNull();
  });
});

describe('checkFatFinger: max notional', () => {
  it('passes a notional equal to the limit and refuses one cent more', () => {
    expect(codeOf(limit('1000', '100'), limits, noData, NOW)).toBeNull();
    expect(codeOf(market({ qty: '1000' }), limits, { price: price('100'), adv: null }, NOW)).toBeNull();
    const d = checkFatFinger(
      market({ qty: '1' }),
      { ...limits, maxNotional: '100' },
      { price: price('100.01', 1_500), adv: null },
      NOW,
    );
    expect(d).toEqual({
      code: 'FAT_FINGER_MAX_NOTIONAL',
      status: 422,
      message: expect.stringContaining('100.01'),
      details: {
        limit: '100',
        value: '100.01',
        qty: '1',
        price: '100.01',
        price_source: 'market_trade',
        price_age_seconds: '1.5',
      },
    });
  });

  it('is exact with prices a binary float cannot hold', () => {
    // 3 × 0.1 is 0.30000000000000004 in floats.
    expect(codeOf(limit('3', '0.1'), { ...limits, maxNotional: '0.3' }, noData, NOW)).toBeNull();
    expect(codeOf(limit('3', '0.10000001'), { ...limits, maxNotional: '0.3' }, noData, NOW)).toBe(
      'FAT_FINGER_MAX_NOTIONAL',
    );
  });

  it('comes after the price checks', () => {
    expect(codeOf(market({ qty: '1000000' }), { ...limits, maxQty: '1e9' }, noData, NOW)).toBe('PRICE_UNAVAILABLE');
  });
});

describe('checkFatFinger: max % of ADV', () => {
  it('passes a qty equal to max_adv_pct × ADV and refuses one share more', () => {
    // 5 % of 20,000 = 1,000 shares.
    expect(codeOf(limit('1000', '1'), limits, { price: null, adv: adv('20000') }, NOW)).toBeNull();
    const d = checkFatFinger(limit('1001', '1'), limits, { price: null, adv: adv('20000') }, NOW);
    expect(d).toEqual({
      code: 'FAT_FINGER_MAX_ADV_PCT',
      status: 422,
      message: expect.stringContaining('5 % of the average daily volume'),
      details: { limit: '1000', value: '1001', max_adv_pct: '0.05', adv: '20000', adv_days: '20' },
    });
  });

  it('passes when no ADV is known (the qty and notional limits still apply)', () => {
    expect(codeOf(limit('5000', '1'), limits, noData, NOW)).toBeNull();
    expect(codeOf(limit('5000', '100'), limits, noData, NOW)).toBe('FAT_FINGER_MAX_NOTIONAL');
  });

  it('refuses every order on a known ADV of zero', () => {
    expect(codeOf(limit('1', '1'), limits, { price: null, adv: adv('0') }, NOW)).toBe('FAT_FINGER_MAX_ADV_PCT');
  });

  it('comes last: a notional breach is reported first', () => {
    expect(codeOf(limit('5000', '100'), limits, { price: null, adv: adv('1') }, NOW)).toBe('FAT_FINGER_MAX_NOTIONAL');
  });
});

describe('checkFatFinger: properties', () => {
  const dec = (min: number, max: number, dp: number) =>
    fc.integer({ min: min * 10 ** dp, max: max * 10 ** dp }).map((n) => new Decimal(n).div(10 ** dp).toFixed());
  const arbLimits = fc.record({
    maxNotional: dec(1, 1_000_000, 2),
    maxQty: dec(1, 100_000, 0),
    maxAdvPct: dec(0.0001, 1, 4).filter((v) => new Decimal(v).gt(0)),
    maxPriceAgeSeconds: fc.integer({ min: 1, max: 86_400 }),
  });
  const arbType = fc.constantFrom<FatFingerOrderType>('market', 'limit', 'stop', 'stop_limit');
  const arbPrice = dec(0.0001, 10_000, 4).filter((v) => new Decimal(v).gt(0));
  const arbCase = fc.record({
    qty: fc.integer({ min: 1, max: 200_000 }),
    type: arbType,
    orderPrice: arbPrice,
    marketPrice: fc.option(arbPrice, { nil: null }),
    ageMs: fc.integer({ min: 0, max: 100_000_000 }),
    adv: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: null }),
    limits: arbLimits,
  });
  type Case = typeof arbCase extends fc.Arbitrary<infer C> ? C : never;
  const build = (c: Case, qty: number): [FatFingerOrder, FatFingerMarket] => [
    market({
      qty: String(qty),
      orderType: c.type,
      limitPrice: c.type === 'limit' || c.type === 'stop_limit' ? c.orderPrice : null,
      stopPrice: c.type === 'stop' || c.type === 'stop_limit' ? c.orderPrice : null,
    }),
    {
      price: c.marketPrice === null ? null : price(c.marketPrice, c.ageMs),
      adv: c.adv === null ? null : adv(String(c.adv)),
    },
  ];

  it('a smaller qty never turns an allow into a refusal', () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 1, max: 200_000 }), (c, smaller) => {
        const [order, m] = build(c, c.qty);
        fc.pre(checkFatFinger(order, c.limits, m, NOW) === null);
        const [less, m2] = build(c, Math.min(smaller, c.qty));
        expect(checkFatFinger(less, c.limits, m2, NOW)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('the notional refusal agrees with an independent exact computation', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const [order] = build(c, c.qty);
        // Only the notional is in play: qty, age and ADV limits out of the way, a market price always fresh.
        const wide = { ...c.limits, maxQty: '1000000', maxAdvPct: '1', maxPriceAgeSeconds: 86_400 };
        const market2 = { price: price(c.marketPrice ?? '1', 0), adv: null };
        const px = c.type === 'market' ? (c.marketPrice ?? '1') : c.orderPrice;
        // Scaled to integers: the comparison needs no decimal library at all.
        const scale = 10n ** 6n;
        const toScaled = (s: string) => {
          const [w, f = ''] = s.split('.');
          return BigInt(w) * scale + BigInt((f + '000000').slice(0, 6));
        };
        const over = BigInt(c.qty) * toScaled(px) > toScaled(c.limits.maxNotional);
        const result = checkFatFinger(order, wide, market2, NOW);
        expect(result?.code === 'FAT_FINGER_MAX_NOTIONAL').toBe(over);
        if (!over) expect(result).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('every refusal is a 422 with a known code and string figures', () => {
    fc.assert(
      fc.property(arbCase, (c) => {
        const [order, m] = build(c, c.qty);
        const r = checkFatFinger(order, c.limits, m, NOW);
        if (r === null) return;
        expect(r.status).toBe(422);
        expect([
          'FAT_FINGER_MAX_QTY',
          'FAT_FINGER_MAX_NOTIONAL',
          'FAT_FINGER_MAX_ADV_PCT',
          'PRICE_STALE',
          'PRICE_UNAVAILABLE',
        ]).toContain(r.code);
        for (const v of Object.values(r.details ?? {})) expect(typeof v).toBe('string');
      }),
      { numRuns: 300 },
    );
  });
});
