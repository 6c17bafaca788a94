import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import { MAX_VOLATILITY_BPS, roundToTick, shock, tickSize, walkPath, walkStep } from './sim-price-walk';

const symbolArb = fc.stringMatching(/^[A-Z]{1,5}$/);
const seedArb = fc.string({ maxLength: 20 });
/** Prices from 0.0001 to 100 000 on their tick. */
const priceArb = fc.integer({ min: 1, max: 1_000_000_000 }).map((n) => roundToTick(new Decimal(n).div(10_000)));
const volArb = fc.integer({ min: 0, max: MAX_VOLATILITY_BPS * 10 }).map((n) => new Decimal(n).div(10));

function onTick(p: Decimal): boolean {
  return p.mod(tickSize(p)).isZero();
}

describe('sim price walk', () => {
  it('keeps every price positive and on its tick, for any seed, symbol and volatility', () => {
    fc.assert(
      fc.property(seedArb, symbolArb, priceArb, volArb, fc.integer({ min: 0, max: 1_000_000 }), (seed, s, p, v, n) => {
        const path = walkPath(seed, s, p, v, 20, n);
        return path.every((x) => x.gt(0) && onTick(x));
      }),
      { numRuns: 300 },
    );
  });

  it('the same seed replays the same path; another seed (almost always) another one', () => {
    fc.assert(
      fc.property(seedArb, symbolArb, priceArb, (seed, s, p) => {
        const vol = new Decimal(50);
        const a = walkPath(seed, s, p, vol, 30).map((x) => x.toFixed());
        const b = walkPath(seed, s, p, vol, 30).map((x) => x.toFixed());
        expect(a).toEqual(b);
      }),
      { numRuns: 100 },
    );
    const vol = new Decimal(50);
    const one = walkPath('seed-1', 'AAPL', new Decimal(190), vol, 30).map(String);
    const two = walkPath('seed-2', 'AAPL', new Decimal(190), vol, 30).map(String);
    const msft = walkPath('seed-1', 'MSFT', new Decimal(190), vol, 30).map(String);
    expect(two).not.toEqual(one);
    expect(msft).not.toEqual(one);
  });

  it('is a function of (seed, symbol, n, price): a path resumed at step k continues as the whole path does', () => {
    fc.assert(
      fc.property(seedArb, symbolArb, priceArb, fc.integer({ min: 1, max: 30 }), (seed, s, p, k) => {
        const vol = new Decimal(25);
        const whole = walkPath(seed, s, p, vol, 40).map(String);
        const resumed = walkPath(seed, s, new Decimal(whole[k - 1]!), vol, 40 - k, k).map(String);
        expect(resumed).toEqual(whole.slice(k));
      }),
      { numRuns: 100 },
    );
  });

  it('volatility 0 never moves the price (the test default: prices stay at 100)', () => {
    fc.assert(
      fc.property(seedArb, symbolArb, priceArb, fc.nat(), (seed, s, p, n) =>
        walkStep({ seed, symbol: s, step: n, price: p, volatilityBps: new Decimal(0) }).eq(p),
      ),
    );
    expect(
      walkStep({ seed: 'x', symbol: 'A', step: 0, price: new Decimal('100'), volatilityBps: new Decimal(0) }).toFixed(),
    ).toBe('100');
  });

  it('the shock is bounded by ±6 and a step moves at most 6σ (plus rounding)', () => {
    fc.assert(
      fc.property(seedArb, symbolArb, fc.nat(), priceArb, volArb, (seed, s, n, p, v) => {
        const z = shock(seed, s, n);
        expect(z.abs().lte(6)).toBe(true);
        const next = walkStep({ seed, symbol: s, step: n, price: p, volatilityBps: v });
        const bound = p.mul(v).mul(6).div(10_000).plus(tickSize(p)).plus(tickSize(next));
        expect(next.minus(p).abs().lte(bound)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('shocks average near 0 with σ near 1 (it moves both ways)', () => {
    const zs = Array.from({ length: 4000 }, (_, n) => shock('stats', 'AAPL', n));
    const mean = zs.reduce((a, z) => a.plus(z), new Decimal(0)).div(zs.length);
    const variance = zs.reduce((a, z) => a.plus(z.minus(mean).pow(2)), new Decimal(0)).div(zs.length);
    expect(mean.abs().lt(0.08)).toBe(true);
    expect(variance.sqrt().minus(1).abs().lt(0.08)).toBe(true);
  });

  it('rounds to cents at or above 1 and to 0.0001 below, never below 0.0001', () => {
    expect(roundToTick(new Decimal('190.555')).toFixed()).toBe('190.56');
    expect(roundToTick(new Decimal('190.545')).toFixed()).toBe('190.54');
    expect(roundToTick(new Decimal('0.123456')).toFixed()).toBe('0.1235');
    expect(roundToTick(new Decimal('0.00001')).toFixed()).toBe('0.0001');
  });
});
