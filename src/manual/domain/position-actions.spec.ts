import fc from 'fast-check';
import Decimal from 'decimal.js';
import { isReduceOnly } from '../../risk/pipeline/pre-trade-checks';
import { decideAdjust, decideClose, PositionExposure } from './position-actions';

const ex = (positionQty: number, openBuyQty = 0, openSellQty = 0): PositionExposure => ({
  positionQty: String(positionQty),
  openBuyQty: String(openBuyQty),
  openSellQty: String(openSellQty),
});
const snapshot = (e: PositionExposure) => ({ ...e, strategyOpenOrders: 0 });

const exposures = fc
  .record({
    position: fc.integer({ min: -5_000, max: 5_000 }),
    openBuy: fc.integer({ min: 0, max: 6_000 }),
    openSell: fc.integer({ min: 0, max: 6_000 }),
  })
  .map(({ position, openBuy, openSell }) => ex(position, openBuy, openSell));

describe('decideClose', () => {
  it('sells a long and buys a short, all of it by default', () => {
    expect(decideClose(ex(100))).toEqual({ order: { side: 'sell', qty: '100', reduceOnly: true } });
    expect(decideClose(ex(-40))).toEqual({ order: { side: 'buy', qty: '40', reduceOnly: true } });
    expect(decideClose(ex(100), '30')).toEqual({ order: { side: 'sell', qty: '30', reduceOnly: true } });
  });

  it('takes off what open orders on the closing side already close; none left is CLOSE_PENDING', () => {
    expect(decideClose(ex(100, 500, 30))).toEqual({ order: { side: 'sell', qty: '70', reduceOnly: true } });
    expect(decideClose(ex(100, 0, 100))).toMatchObject({ refusal: { code: 'CLOSE_PENDING', status: 409 } });
    expect(decideClose(ex(100, 0, 150))).toMatchObject({ refusal: { code: 'CLOSE_PENDING' } });
    expect(decideClose(ex(100, 0, 30), '80')).toMatchObject({
      refusal: { code: 'CLOSE_PENDING', details: { closable_qty: '70', qty: '80' } },
    });
  });

  it('refuses a flat position and more than the position (422)', () => {
    expect(decideClose(ex(0))).toMatchObject({ refusal: { code: 'POSITION_FLAT', status: 422 } });
    expect(decideClose(ex(0), '5')).toMatchObject({ refusal: { code: 'POSITION_FLAT' } });
    expect(decideClose(ex(100), '101')).toMatchObject({ refusal: { code: 'CLOSE_EXCEEDS_POSITION', status: 422 } });
    expect(decideClose(ex(-10), '11')).toMatchObject({ refusal: { code: 'CLOSE_EXCEEDS_POSITION' } });
  });

  it('property: a close never takes the position past flat, and the pre-trade pipeline sees it as reduce-only', () => {
    fc.assert(
      fc.property(exposures, fc.option(fc.integer({ min: 1, max: 6_000 }), { nil: undefined }), (e, qty) => {
        const d = decideClose(e, qty === undefined ? undefined : String(qty));
        if ('refusal' in d) return true;
        const position = new Decimal(e.positionQty);
        const onSide = new Decimal(d.order.side === 'sell' ? e.openSellQty : e.openBuyQty);
        return (
          !position.isZero() &&
          (d.order.side === 'sell') === position.gt(0) &&
          new Decimal(d.order.qty).gt(0) &&
          new Decimal(d.order.qty).plus(onSide).lte(position.abs()) &&
          isReduceOnly(d.order, snapshot(e))
        );
      }),
    );
  });

  it('property: the default close takes exactly what is left to close, or answers why not', () => {
    fc.assert(
      fc.property(exposures, (e) => {
        const d = decideClose(e);
        const size = new Decimal(e.positionQty).abs();
        const onSide = new Decimal(new Decimal(e.positionQty).gt(0) ? e.openSellQty : e.openBuyQty);
        const left = size.minus(Decimal.min(size, onSide));
        if (size.isZero()) return 'refusal' in d && d.refusal.code === 'POSITION_FLAT';
        if (left.isZero()) return 'refusal' in d && d.refusal.code === 'CLOSE_PENDING';
        return 'order' in d && d.order.qty === left.toFixed();
      }),
    );
  });
});

describe('decideAdjust', () => {
  it('sends the difference to the target', () => {
    expect(decideAdjust(ex(100), '60')).toEqual({ order: { side: 'sell', qty: '40', reduceOnly: true } });
    expect(decideAdjust(ex(100), '150')).toEqual({ order: { side: 'buy', qty: '50', reduceOnly: false } });
    expect(decideAdjust(ex(-100), '-20')).toEqual({ order: { side: 'buy', qty: '80', reduceOnly: true } });
    expect(decideAdjust(ex(0), '-5')).toEqual({ order: { side: 'sell', qty: '5', reduceOnly: false } });
    expect(decideAdjust(ex(100), '0')).toEqual({ order: { side: 'sell', qty: '100', reduceOnly: true } });
  });

  it('refuses crossing zero, no change, and a reduction open orders already cover', () => {
    expect(decideAdjust(ex(100), '-1')).toMatchObject({ refusal: { code: 'ADJUST_CROSSES_ZERO', status: 422 } });
    expect(decideAdjust(ex(-3), '2')).toMatchObject({ refusal: { code: 'ADJUST_CROSSES_ZERO' } });
    expect(decideAdjust(ex(100), '100')).toMatchObject({ refusal: { code: 'NO_CHANGE', status: 422 } });
    expect(decideAdjust(ex(0), '0')).toMatchObject({ refusal: { code: 'NO_CHANGE' } });
    expect(decideAdjust(ex(100, 0, 90), '50')).toMatchObject({
      refusal: { code: 'CLOSE_PENDING', details: { target_qty: '50' } },
    });
  });

  it('property: an adjust lands on the target when it fills; toward zero it is reduce-only', () => {
    fc.assert(
      fc.property(exposures, fc.integer({ min: -6_000, max: 6_000 }), (e, target) => {
        const d = decideAdjust(e, String(target));
        const position = new Decimal(e.positionQty);
        if ('refusal' in d) {
          if (d.refusal.code === 'NO_CHANGE') return position.eq(target);
          if (d.refusal.code === 'ADJUST_CROSSES_ZERO') return position.mul(target).lt(0);
          return d.refusal.code === 'CLOSE_PENDING' && Math.abs(target) < position.abs().toNumber();
        }
        const signed = new Decimal(d.order.qty).mul(d.order.side === 'buy' ? 1 : -1);
        const towardZero = Math.abs(target) < position.abs().toNumber();
        return (
          position.plus(signed).eq(target) &&
          d.order.reduceOnly === towardZero &&
          (!towardZero || isReduceOnly(d.order, snapshot(e)))
        );
      }),
    );
  });
});
