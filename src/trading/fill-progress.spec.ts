import fc from 'fast-check';
import { Decimal, plain, quotient } from '../common/decimal';
import { FillIncrement, fillIncrement, FillProgressError, FillState } from './fill-progress';

const start = (qty: string): FillState => ({ qty, filledQty: '0', filledAvgPrice: null });

/** Applies an increment to the state the way the caller records it. */
const after = (s: FillState, inc: FillIncrement | null): FillState =>
  inc ? { ...s, filledQty: inc.newFilledQty, filledAvgPrice: inc.newAvgPrice } : s;

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

function errorCode(f: () => unknown): string | undefined {
  const e = thrown(f);
  expect(e).toBeInstanceOf(FillProgressError);
  return (e as FillProgressError).code;
}

describe('quotient', () => {
  it.each<[string, string, string]>([
    ['10', '4', '2.5'],
    ['1', '8', '0.125'],
    ['1', '3', '0.33333333'],
    ['2', '3', '0.66666667'],
    ['-2', '3', '-0.66666667'],
    ['2', '-3', '-0.66666667'],
    ['1', '1024', '0.0009765625'],
    ['0.1', '0.3', '0.33333333'],
    ['1050', '10', '105'],
    ['0', '7', '0'],
    ['100.005', '2', '50.0025'],
    ['1', '7', '0.14285714'],
    ['123456789012345678901234567890.123456789', '1', '123456789012345678901234567890.123456789'],
  ])('%s / %s = %s', (n, d, q) => {
    expect(plain(quotient(n, d))).toBe(q);
  });

  it('rounds half-even only at the dp-th place of a non-terminating quotient', () => {
    // 0.125 terminates: exact, not rounded even at dp 2.
    expect(plain(quotient('1', '8', 2))).toBe('0.125');
    expect(plain(quotient('1', '6', 2))).toBe('0.17');
    expect(plain(quotient('5', '6', 0))).toBe('1');
  });

  it('refuses a zero divisor', () => {
    expect(() => quotient('1', '0')).toThrow(RangeError);
  });

  it('is exact when it terminates: q × d = n', () => {
    const dec = fc
      .tuple(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.integer({ min: 0, max: 8 }))
      .map(([n, k]) => new Decimal(`${n}e-${k}`).toFixed());
    const pow = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }));
    fc.assert(
      fc.property(dec, pow, fc.integer({ min: 0, max: 6 }), (n, [a, b], k) => {
        const d = new Decimal(2).pow(a).times(new Decimal(5).pow(b)).div(new Decimal(10).pow(k)).toFixed();
        expect(quotient(n, d).times(d).eq(n)).toBe(true);
      }),
    );
  });

  it('is within half a unit of the 8th place otherwise', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), (n, d) => {
        const err = quotient(String(n), String(d)).times(d).minus(n).abs();
        expect(err.lte(new Decimal('0.000000005').times(d))).toBe(true);
      }),
    );
  });
});

describe('fillIncrement', () => {
  it('derives 3, 4, 3 from cumulative 0 → 3 → 7 → 10, at exact prices', () => {
    let s = start('10');
    const a = fillIncrement(s, '3', '100');
    expect(a).toEqual({ qty: '3', price: '100', newFilledQty: '3', newAvgPrice: '100' });
    s = after(s, a);
    // 3 @ 100 + 4 @ 107 = 728 / 7 = 104
    const b = fillIncrement(s, '7', '104');
    expect(b).toEqual({ qty: '4', price: '107', newFilledQty: '7', newAvgPrice: '104' });
    s = after(s, b);
    // 728 + 3 @ 101 = 1031 / 10 = 103.1
    const c = fillIncrement(s, '10', '103.1');
    expect(c).toEqual({ qty: '3', price: '101', newFilledQty: '10', newAvgPrice: '103.1' });
    s = after(s, c);
    expect(s).toEqual({ qty: '10', filledQty: '10', filledAvgPrice: '103.1' });
  });

  it('yields nothing for replays and out-of-order reports (10 then 7)', () => {
    const s: FillState = { qty: '10', filledQty: '10', filledAvgPrice: '103.1' };
    expect(fillIncrement(s, '10', '103.1')).toBeNull();
    expect(fillIncrement(s, '7', '104')).toBeNull();
    expect(fillIncrement(s, '0', null)).toBeNull();
    expect(fillIncrement(start('10'), '0', null)).toBeNull();
  });

  it('compares quantities as decimals, not as text', () => {
    const s: FillState = { qty: '100', filledQty: '9', filledAvgPrice: '10' };
    expect(fillIncrement(s, '10', '10')!.qty).toBe('1');
    expect(fillIncrement({ ...s, filledQty: '10.000' }, '10', '10')).toBeNull();
  });

  it('prices a skipped report at the volume-weighted price of the executions in between', () => {
    // 3 @ 100, then (missed) 4 @ 107, then 3 @ 101: known 3, reported 10 @ 103.1 → 7 @ (1031 − 300) / 7 = 104.42857142…
    const inc = fillIncrement({ qty: '10', filledQty: '3', filledAvgPrice: '100' }, '10', '103.1');
    expect(inc).toEqual({ qty: '7', price: '104.42857143', newFilledQty: '10', newAvgPrice: '103.1' });
  });

  it('derives increment prices exactly when they terminate', () => {
    // 1 @ 10.01 then 3 @ 10.015 → avg 40.055 / 4 = 10.01375
    const inc = fillIncrement({ qty: '4', filledQty: '1', filledAvgPrice: '10.01' }, '4', '10.01375');
    expect(inc!.price).toBe('10.015');
    // 8 @ 0.0001 after 8 @ 0.0003 → avg 0.0002
    const sub = fillIncrement({ qty: '16', filledQty: '8', filledAvgPrice: '0.0003' }, '16', '0.0002');
    expect(sub!.price).toBe('0.0001');
  });

  it("uses the execution's own price when the broker gives it, and still takes the average from the broker", () => {
    const s: FillState = { qty: '10', filledQty: '3', filledAvgPrice: '100' };
    expect(fillIncrement(s, '7', '104.0001', '107')).toEqual({
      qty: '4',
      price: '107',
      newFilledQty: '7',
      newAvgPrice: '104.0001',
    });
    expect(fillIncrement(s, '7', '104', '107', '4')!.price).toBe('107');
  });

  it('derives the price from the averages when the execution does not cover the whole increment', () => {
    // The event is a 3-share execution at 101, but a 4-share one at 107 was missed.
    const s: FillState = { qty: '10', filledQty: '3', filledAvgPrice: '100' };
    expect(fillIncrement(s, '10', '103.1', '101', '3')!.price).toBe('104.42857143');
  });

  it('computes the average itself when the broker gives only the execution price', () => {
    const s: FillState = { qty: '10', filledQty: '3', filledAvgPrice: '100' };
    expect(fillIncrement(s, '7', null, '107')).toEqual({
      qty: '4',
      price: '107',
      newFilledQty: '7',
      newAvgPrice: '104',
    });
    expect(fillIncrement(s, '6', null, '101')!.newAvgPrice).toBe('100.5');
    expect(fillIncrement(start('10'), '3', null, '99.5')!.newAvgPrice).toBe('99.5');
  });

  it('normalizes every output (no exponent, no trailing zeros)', () => {
    const inc = fillIncrement(
      { qty: '1000000', filledQty: '0.000', filledAvgPrice: null },
      '1000000.00',
      '0.00000010',
      '0.0000001000',
    );
    expect(inc).toEqual({ qty: '1000000', price: '0.0000001', newFilledQty: '1000000', newAvgPrice: '0.0000001' });
  });

  it('refuses a cumulative above the order quantity with a typed error', () => {
    expect(errorCode(() => fillIncrement({ qty: '10', filledQty: '7', filledAvgPrice: '1' }, '11', '1'))).toBe(
      'FILL_EXCEEDS_ORDER_QTY',
    );
    expect(thrown(() => fillIncrement(start('10'), '10.5', '1'))).toMatchObject({
      kind: 'conflict',
      code: 'FILL_EXCEEDS_ORDER_QTY',
      details: { qty: '10', reportedCumQty: '10.5' },
    });
    // Exactly the order quantity is fine.
    expect(fillIncrement(start('10'), '10', '1')!.qty).toBe('10');
  });

  it('refuses an increase it cannot price', () => {
    expect(errorCode(() => fillIncrement(start('10'), '3', null))).toBe('FILL_PRICE_UNKNOWN');
    // An execution price for 3 shares cannot price a 7-share increase without the average.
    expect(
      errorCode(() => fillIncrement({ qty: '10', filledQty: '3', filledAvgPrice: '1' }, '10', null, '2', '3')),
    ).toBe('FILL_PRICE_UNKNOWN');
    expect(errorCode(() => fillIncrement({ qty: '10', filledQty: '3', filledAvgPrice: null }, '7', '2'))).toBe(
      'FILL_STATE_INCONSISTENT',
    );
  });

  it('refuses an increment whose derived price is not positive (inconsistent averages)', () => {
    // 5 @ 100 known; the broker then claims 10 @ 50: the next 5 would be at 0.
    expect(errorCode(() => fillIncrement({ qty: '10', filledQty: '5', filledAvgPrice: '100' }, '10', '50'))).toBe(
      'FILL_PRICE_INVALID',
    );
    expect(errorCode(() => fillIncrement({ qty: '10', filledQty: '5', filledAvgPrice: '100' }, '10', '40'))).toBe(
      'FILL_PRICE_INVALID',
    );
  });
});

describe('fillIncrement: properties', () => {
  /** A true execution history: whole-share quantities at cent prices, and the broker's view after each. */
  const historyArb = fc
    .array(fc.record({ qty: fc.integer({ min: 1, max: 500 }), cents: fc.integer({ min: 1, max: 50_000 }) }), {
      minLength: 1,
      maxLength: 12,
    })
    .map((execs) => {
      let cum = new Decimal(0);
      let notional = new Decimal(0);
      const snapshots = [{ cum: '0', avg: null as string | null, notional: '0' }];
      for (const e of execs) {
        cum = cum.plus(e.qty);
        notional = notional.plus(new Decimal(e.cents).div(100).times(e.qty));
        snapshots.push({ cum: cum.toFixed(), avg: plain(quotient(notional, cum)), notional: notional.toFixed() });
      }
      return { orderQty: cum.plus(7).toFixed(), snapshots };
    });

  /** Reports: snapshot indices in any order, with duplicates and regressions. */
  const scenarioArb = historyArb.chain((h) =>
    fc.record({
      h: fc.constant(h),
      picks: fc.array(fc.integer({ min: 0, max: h.snapshots.length - 1 }), { minLength: 1, maxLength: 30 }),
    }),
  );

  it('increments sum to the highest cumulative reported, are positive, and end at its average', () => {
    fc.assert(
      fc.property(scenarioArb, ({ h, picks }) => {
        let s: FillState = start(h.orderQty);
        let total = new Decimal(0);
        let notional = new Decimal(0);
        let maxPick = 0;
        for (const i of picks) {
          const snap = h.snapshots[i];
          const inc = fillIncrement(s, snap.cum, snap.avg);
          if (i > maxPick) {
            expect(inc).not.toBeNull();
            maxPick = i;
          } else {
            expect(inc).toBeNull();
          }
          if (inc) {
            expect(new Decimal(inc.qty).gt(0)).toBe(true);
            expect(new Decimal(inc.price).gt(0)).toBe(true);
            expect(inc.newFilledQty).toBe(snap.cum);
            total = total.plus(inc.qty);
            notional = notional.plus(new Decimal(inc.qty).times(inc.price));
          }
          s = after(s, inc);
        }
        expect(total.toFixed()).toBe(h.snapshots[maxPick].cum);
        expect(s.filledQty).toBe(h.snapshots[maxPick].cum);
        expect(s.filledAvgPrice).toBe(h.snapshots[maxPick].avg);
        // The recorded fills' notional is the true one, up to the 8-dp rounding of averages and derived prices.
        const tolerance = new Decimal(total).times('0.00000001');
        expect(notional.minus(h.snapshots[maxPick].notional).abs().lte(tolerance)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('in order and with execution prices, every increment is exactly one execution', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ qty: fc.integer({ min: 1, max: 500 }), cents: fc.integer({ min: 1, max: 50_000 }) }), {
          minLength: 1,
          maxLength: 12,
        }),
        (execs) => {
          let s: FillState = start('100000');
          let cum = 0;
          for (const e of execs) {
            cum += e.qty;
            const price = new Decimal(e.cents).div(100).toFixed();
            const inc = fillIncrement(s, String(cum), null, price, String(e.qty));
            expect(inc).toMatchObject({ qty: String(e.qty), price, newFilledQty: String(cum) });
            // A replay of the same event is nothing.
            expect(fillIncrement(after(s, inc), String(cum), null, price, String(e.qty))).toBeNull();
            s = after(s, inc);
          }
        },
      ),
    );
  });
});
