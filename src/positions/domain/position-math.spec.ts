import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import {
  applyFillToPosition,
  FillForPosition,
  FLAT,
  PositionChange,
  PositionState,
  unrealizedPl,
} from './position-math';

const buy = (qty: string, price: string): FillForPosition => ({ side: 'buy', qty, price });
const sell = (qty: string, price: string): FillForPosition => ({ side: 'sell', qty, price });

function applyAll(fills: FillForPosition[], from: PositionState = FLAT): PositionChange {
  let p: PositionChange = { ...from, realizedDelta: '0' };
  for (const f of fills) p = applyFillToPosition(p, f);
  return p;
}

const PLAIN = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/;

describe('applyFillToPosition', () => {
  it('averages the entry on increases: buy 10 @ 100 + buy 10 @ 110 → 20 @ 105', () => {
    const a = applyFillToPosition(FLAT, buy('10', '100'));
    expect(a).toEqual({ qty: '10', avgEntryPrice: '100', realizedPl: '0', realizedDelta: '0' });
    const b = applyFillToPosition(a, buy('10', '110'));
    expect(b).toEqual({ qty: '20', avgEntryPrice: '105', realizedPl: '0', realizedDelta: '0' });
  });

  it('realizes P&L on a reduction: then sell 5 @ 120 → realized 75, 15 @ 105', () => {
    const p = applyAll([buy('10', '100'), buy('10', '110'), sell('5', '120')]);
    expect(p).toEqual({ qty: '15', avgEntryPrice: '105', realizedPl: '75', realizedDelta: '75' });
  });

  it('flips through zero: long 10 @ 100, sell 15 @ 90 → realized −100, short 5 @ 90', () => {
    const p = applyAll([buy('10', '100'), sell('15', '90')]);
    expect(p).toEqual({ qty: '-5', avgEntryPrice: '90', realizedPl: '-100', realizedDelta: '-100' });
    // And back: buy 8 @ 80 covers 5 (realizing (90 − 80) × 5 = 50) and opens 3 long @ 80.
    const back = applyFillToPosition(p, buy('8', '80'));
    expect(back).toEqual({ qty: '3', avgEntryPrice: '80', realizedPl: '-50', realizedDelta: '50' });
  });

  it('increases a short at the weighted average and realizes on the cover', () => {
    const short = applyAll([sell('10', '50'), sell('10', '40')]);
    expect(short).toEqual({ qty: '-20', avgEntryPrice: '45', realizedPl: '0', realizedDelta: '0' });
    const covered = applyFillToPosition(short, buy('5', '30'));
    expect(covered).toEqual({ qty: '-15', avgEntryPrice: '45', realizedPl: '75', realizedDelta: '75' });
    const lossy = applyFillToPosition(covered, buy('15', '50'));
    expect(lossy).toEqual({ qty: '0', avgEntryPrice: '0', realizedPl: '0', realizedDelta: '-75' });
  });

  it('closes to flat with entry price 0', () => {
    const p = applyAll([buy('10', '100'), sell('10', '101.5')]);
    expect(p).toEqual({ qty: '0', avgEntryPrice: '0', realizedPl: '15', realizedDelta: '15' });
  });

  it('keeps exact decimals: cents and sub-cents', () => {
    const p = applyAll([buy('3', '0.1'), buy('7', '0.2'), sell('4', '0.3')]);
    // avg (0.3 + 1.4) / 10 = 0.17; realized (0.3 − 0.17) × 4 = 0.52
    expect(p).toEqual({ qty: '6', avgEntryPrice: '0.17', realizedPl: '0.52', realizedDelta: '0.52' });
  });

  it('rounds a non-terminating average to 8 dp and books the remainder, so closing realizes the cash P&L exactly', () => {
    const a = applyAll([buy('1', '1'), buy('2', '2')]);
    // 5 / 3 = 1.66666667 (rounded up by 1/3e-8 a share, 1e-8 in all): booked as realized now.
    expect(a).toEqual({
      qty: '3',
      avgEntryPrice: '1.66666667',
      realizedPl: '0.00000001',
      realizedDelta: '0.00000001',
    });
    const closed = applyFillToPosition(a, sell('3', '2'));
    expect(closed.realizedDelta).toBe('0.99999999');
    expect(closed.realizedPl).toBe('1'); // = 6 − 5
  });

  it('ignores a stale entry price on a flat row (e.g. a row left at 0 qty)', () => {
    const p = applyFillToPosition({ qty: '0', avgEntryPrice: '123', realizedPl: '5' }, buy('2', '10'));
    expect(p).toEqual({ qty: '2', avgEntryPrice: '10', realizedPl: '5', realizedDelta: '0' });
  });

  it('accepts stored NUMERIC text and normalizes it', () => {
    const p = applyFillToPosition(
      { qty: '10.00000000', avgEntryPrice: '100.00000000', realizedPl: '0.00' },
      sell('4.000', '100.50'),
    );
    expect(p).toEqual({ qty: '6', avgEntryPrice: '100', realizedPl: '2', realizedDelta: '2' });
  });

  it.each<[string, FillForPosition]>([
    ['zero qty', buy('0', '10')],
    ['negative qty', sell('-1', '10')],
    ['zero price', buy('1', '0')],
    ['negative price', buy('1', '-5')],
  ])('refuses a fill with %s', (_name, f) => {
    expect(() => applyFillToPosition(FLAT, f)).toThrow(RangeError);
  });

  it('does not mutate FLAT or its input', () => {
    const p = { qty: '10', avgEntryPrice: '100', realizedPl: '0' };
    applyFillToPosition(p, sell('3', '90'));
    expect(p).toEqual({ qty: '10', avgEntryPrice: '100', realizedPl: '0' });
    expect(FLAT).toEqual({ qty: '0', avgEntryPrice: '0', realizedPl: '0' });
    expect(Object.isFrozen(FLAT)).toBe(true);
  });
});

describe('unrealizedPl', () => {
  it.each<[PositionState, string, string]>([
    [{ qty: '15', avgEntryPrice: '105', realizedPl: '75' }, '110', '75'],
    [{ qty: '15', avgEntryPrice: '105', realizedPl: '75' }, '100.5', '-67.5'],
    [{ qty: '-5', avgEntryPrice: '90', realizedPl: '0' }, '80', '50'],
    [{ qty: '-5', avgEntryPrice: '90', realizedPl: '0' }, '95', '-25'],
    [FLAT, '123.45', '0'],
    [{ qty: '3', avgEntryPrice: '1.66666667', realizedPl: '0' }, '1.66666667', '0'],
  ])('%j at %s → %s', (p, mark, want) => {
    expect(unrealizedPl(p, mark)).toBe(want);
  });
});

describe('position math: properties', () => {
  /** Whole shares (docs/api.md#numbers-and-decimals) and prices with up to 4 decimals, from 0.0001 to 10,000. */
  const fillArb: fc.Arbitrary<FillForPosition> = fc.record({
    side: fc.constantFrom('buy' as const, 'sell' as const),
    qty: fc.integer({ min: 1, max: 1000 }).map(String),
    price: fc.integer({ min: 1, max: 100_000_000 }).map((n) => new Decimal(n).div(10_000).toFixed()),
  });
  const fillsArb = fc.array(fillArb, { maxLength: 40 });

  const cash = (fills: FillForPosition[]): Decimal =>
    fills.reduce(
      (sum, f) => sum.plus(new Decimal(f.qty).times(f.price).times(f.side === 'sell' ? 1 : -1)),
      new Decimal(0),
    );
  const netQty = (fills: FillForPosition[]): Decimal =>
    fills.reduce((sum, f) => sum.plus(f.side === 'buy' ? f.qty : new Decimal(f.qty).neg()), new Decimal(0));

  /** Appends the fill that brings the position back to flat, at a random price. */
  const flatteningArb = fc.tuple(fillsArb, fc.integer({ min: 1, max: 100_000_000 })).map(([fills, cents]) => {
    const q = netQty(fills);
    if (q.isZero()) return fills;
    const price = new Decimal(cents).div(10_000).toFixed();
    return [...fills, { side: q.isPos() ? ('sell' as const) : ('buy' as const), qty: q.abs().toFixed(), price }];
  });

  it('a sequence that ends flat realizes exactly its cash P&L (Σ sells − Σ buys)', () => {
    fc.assert(
      fc.property(flatteningArb, (fills) => {
        const p = applyAll(fills);
        expect(p.qty).toBe('0');
        expect(p.avgEntryPrice).toBe('0');
        expect(p.realizedPl).toBe(cash(fills).toFixed());
      }),
      { numRuns: 1000 },
    );
  });

  it('qty after any sequence is Σ buys − Σ sells; realized + unrealized = cash + qty × mark at any mark', () => {
    fc.assert(
      fc.property(fillsArb, fc.integer({ min: 1, max: 100_000_000 }), (fills, markN) => {
        const p = applyAll(fills);
        expect(p.qty).toBe(netQty(fills).toFixed());
        const mark = new Decimal(markN).div(10_000).toFixed();
        const total = new Decimal(p.realizedPl).plus(unrealizedPl(p, mark));
        expect(total.toFixed()).toBe(cash(fills).plus(netQty(fills).times(mark)).toFixed());
      }),
      { numRuns: 1000 },
    );
  });

  it('every step: realizedDelta = newQty×newAvg − oldQty×oldAvg − signedQty×price, and realizedPl accumulates it', () => {
    fc.assert(
      fc.property(fillsArb, (fills) => {
        let p: PositionState = FLAT;
        for (const f of fills) {
          const next = applyFillToPosition(p, f);
          const signed = f.side === 'buy' ? new Decimal(f.qty) : new Decimal(f.qty).neg();
          const want = new Decimal(next.qty)
            .times(next.avgEntryPrice)
            .minus(new Decimal(p.qty).times(p.avgEntryPrice))
            .minus(signed.times(f.price));
          expect(next.realizedDelta).toBe(want.toFixed());
          expect(next.realizedPl).toBe(new Decimal(p.realizedPl).plus(next.realizedDelta).toFixed());
          p = next;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the entry price is never negative, is 0 exactly when flat, and is the fill price after a flip', () => {
    fc.assert(
      fc.property(fillsArb, (fills) => {
        let p: PositionState = FLAT;
        for (const f of fills) {
          const next = applyFillToPosition(p, f);
          expect(new Decimal(next.avgEntryPrice).gte(0)).toBe(true);
          expect(next.avgEntryPrice === '0').toBe(next.qty === '0');
          const before = new Decimal(p.qty);
          const after = new Decimal(next.qty);
          if (!before.isZero() && !after.isZero() && before.isNeg() !== after.isNeg()) {
            expect(next.avgEntryPrice).toBe(new Decimal(f.price).toFixed());
          }
          p = next;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the entry price of a one-sided build-up lies between its lowest and highest fill price', () => {
    fc.assert(
      fc.property(fc.array(fillArb, { minLength: 1, maxLength: 20 }), fc.boolean(), (fills, long) => {
        const side = long ? ('buy' as const) : ('sell' as const);
        const same = fills.map((f) => ({ ...f, side }));
        const p = applyAll(same);
        const prices = same.map((f) => new Decimal(f.price));
        expect(new Decimal(p.avgEntryPrice).gte(Decimal.min(...prices))).toBe(true);
        expect(new Decimal(p.avgEntryPrice).lte(Decimal.max(...prices))).toBe(true);
        // Nothing is realized beyond the averages' rounding remainders (< 1e-8 per share each time).
        expect(new Decimal(p.realizedPl).abs().lte(new Decimal(p.qty).abs().times(same.length).times('1e-8'))).toBe(
          true,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('results are normalized decimal strings (no exponent, no trailing zeros, no -0)', () => {
    fc.assert(
      fc.property(fillsArb, fc.integer({ min: 1, max: 100_000_000 }), (fills, markN) => {
        let p: PositionState = FLAT;
        for (const f of fills) {
          const next = applyFillToPosition(p, f);
          for (const v of [next.qty, next.avgEntryPrice, next.realizedPl, next.realizedDelta]) expect(v).toMatch(PLAIN);
          p = next;
        }
        expect(unrealizedPl(p, new Decimal(markN).div(10_000).toFixed())).toMatch(PLAIN);
      }),
      { numRuns: 300 },
    );
  });
});
