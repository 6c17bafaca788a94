import fc from 'fast-check';
import { generateClientOrderId } from '../../trading/client-order-id';
import {
  checkSliceAdv,
  largestSlice,
  MAX_DURATION_MINUTES,
  parentOrderId,
  planSlices,
  sliceClientOrderId,
  sliceQuantities,
  totalSlices,
} from './twap-plan';

const T0 = new Date('2026-01-02T15:00:00.000Z');

describe('TWAP planner', () => {
  it('slices 10 shares over 3 slices as 4, 3, 3, due every interval from t0', () => {
    const slices = planSlices(10, 3, 60, T0);
    expect(slices.map((s) => s.qty)).toEqual([4, 3, 3]);
    expect(slices.map((s) => s.scheduledTime.toISOString())).toEqual([
      '2026-01-02T15:00:00.000Z',
      '2026-01-02T15:01:00.000Z',
      '2026-01-02T15:02:00.000Z',
    ]);
  });

  it('rounds the slice count up: 5 minutes every 120 s is 3 slices', () => {
    expect(totalSlices(5, 120)).toBe(3);
    expect(totalSlices(1, 60)).toBe(1);
  });

  it('refuses a quantity smaller than the slice count', () => {
    expect(() => sliceQuantities(2, 3)).toThrow(RangeError);
  });

  it('property: quantities sum exactly to qty, n = ceil(D·60/I), the first qty mod n get one more', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 390 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        (d, i, extra) => {
          const n = Math.ceil((d * 60) / i);
          fc.pre(n <= 1000);
          const qty = n + extra - 1;
          const slices = planSlices(qty, d, i, T0);
          expect(slices).toHaveLength(n);
          expect(slices.reduce((a, s) => a + s.qty, 0)).toBe(qty);
          const base = Math.floor(qty / n);
          slices.forEach((s, k) => {
            expect(s.qty).toBe(base + (k < qty % n ? 1 : 0));
            expect(s.scheduledTime.getTime() - T0.getTime()).toBe(k * i * 1000);
          });
          expect(Math.max(...slices.map((s) => s.qty))).toBe(largestSlice(qty, n));
        },
      ),
    );
  });

  describe('parent id', () => {
    const input = {
      symbol: 'AAPL',
      side: 'buy',
      qty: '600',
      limitPrice: null,
      stopPrice: null,
      strategyId: 'alpha_baseline',
      at: T0,
    };

    it('is the order formula with |twap:D:I appended before the idempotency key', () => {
      const { createHash } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
      const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 24);
      expect(parentOrderId(input, 10, 60)).toBe(hash('AAPL|buy|600|None|None|alpha_baseline|2026-01-02|twap:10:60'));
      expect(parentOrderId({ ...input, idempotencyKey: 'k1' }, 10, 60)).toBe(
        hash('AAPL|buy|600|None|None|alpha_baseline|2026-01-02|twap:10:60|k1'),
      );
    });

    it('differs from the plain order id and with the schedule; slice ids append -s<i>', () => {
      const id = parentOrderId(input, 10, 60);
      expect(id).not.toBe(generateClientOrderId(input));
      expect(id).not.toBe(parentOrderId(input, 10, 30));
      expect(id).toMatch(/^[0-9a-f]{24}$/);
      expect(sliceClientOrderId(id, 3)).toBe(`${id}-s3`);
    });
  });

  describe('slice bound of ADV', () => {
    it('passes a plan whose largest slice is within the share of ADV', () => {
      // 600 over 10 slices = 60 per slice; 1 % of 6,000 = 60.
      expect(checkSliceAdv(600, 10, 60, '6000', '0.01')).toBeNull();
    });

    it('refuses with the largest allowed slice, the longest interval and the shortest duration that fit', () => {
      // 600 over 10 slices = 60 per slice; 1 % of 3,000 = 30: at least 20 slices.
      expect(checkSliceAdv(600, 10, 60, '3000', '0.01')).toEqual({
        adv: '3000',
        max_slice_pct_of_adv: '0.01',
        largest_slice: 60,
        max_slice_qty: 30,
        max_interval_seconds: 31, // ceil(600 / 31) = 20
        min_duration_minutes: 20, // ceil(1200 / 60) = 20
      });
    });

    it('suggests nothing when ADV allows no whole share', () => {
      const advice = checkSliceAdv(10, 1, 60, '50', '0.01');
      expect(advice).toMatchObject({ max_slice_qty: 0, max_interval_seconds: null, min_duration_minutes: null });
    });

    it('property: each suggestion fits, and one step past it does not', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 1, max: 120 }),
          fc.integer({ min: 1, max: 600 }),
          fc.integer({ min: 1, max: 100_000 }),
          fc.integer({ min: 100, max: 10_000_000 }),
          (d, i, qty, adv) => {
            fc.pre(i <= d * 60 && qty >= totalSlices(d, i));
            const advice = checkSliceAdv(qty, d, i, String(adv), '0.01');
            if (!advice) return;
            expect(advice.largest_slice).toBeGreaterThan(advice.max_slice_qty);
            const fits = (dd: number, ii: number) => largestSlice(qty, totalSlices(dd, ii)) <= advice.max_slice_qty;
            if (advice.max_interval_seconds !== null) {
              expect(fits(d, advice.max_interval_seconds)).toBe(true);
              expect(fits(d, advice.max_interval_seconds + 1)).toBe(false);
            }
            if (advice.min_duration_minutes !== null) {
              expect(advice.min_duration_minutes).toBeLessThanOrEqual(MAX_DURATION_MINUTES);
              expect(fits(advice.min_duration_minutes, i)).toBe(true);
              if (advice.min_duration_minutes > 1) expect(fits(advice.min_duration_minutes - 1, i)).toBe(false);
            }
          },
        ),
      );
    });
  });
});
