import fc from 'fast-check';
import { Decimal } from '../common/decimal';
import { DomainError, InputValidationError } from '../common/domain-error';
import { Order } from './order';
import {
  assertReplaceable,
  chainOf,
  isRiskReducing,
  openQty,
  replacementHolds,
  replacementId,
  replacementTerms,
  ReplaceRequest,
} from './order-replace';

import { makeOrder } from '../../test/support/order-update.fixtures';

const limitBuy = (p: Partial<Order> = {}) =>
  makeOrder({ orderType: 'limit', limitPrice: '10', qty: '10', side: 'buy', ...p });

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputValidationError) return err.fields.map((f) => f.field);
    if (err instanceof DomainError) return [err.code];
    throw err;
  }
  return [];
}

describe('replacementTerms', () => {
  it("takes the old order's terms with what the request changes", () => {
    const { terms, changed } = replacementTerms(limitBuy(), { qty: '5', limitPrice: '9.5' });
    expect(terms).toMatchObject({ symbol: 'AAA', side: 'buy', orderType: 'limit', qty: '5', limitPrice: '9.5' });
    expect(changed).toEqual(['qty', 'limit_price']);
  });

  it('absent a qty, the replacement is for the open (unfilled) quantity; fills stay with the old order', () => {
    const { terms } = replacementTerms(limitBuy({ filledQty: '4', status: 'partially_filled' }), { limitPrice: '9' });
    expect(terms.qty).toBe('6');
  });

  it('NO_CHANGE when every given term is the order’s (qty compared with the open quantity)', () => {
    expect(fieldsOf(() => replacementTerms(limitBuy(), {}))).toEqual(['NO_CHANGE']);
    expect(fieldsOf(() => replacementTerms(limitBuy(), { limitPrice: '10', qty: '10', timeInForce: 'day' }))).toEqual([
      'NO_CHANGE',
    ]);
    expect(fieldsOf(() => replacementTerms(limitBuy({ filledQty: '4' }), { qty: '6' }))).toEqual(['NO_CHANGE']);
    expect(fieldsOf(() => replacementTerms(limitBuy({ filledQty: '4' }), { qty: '10' }))).toEqual([]);
  });

  it('names each field that does not apply to the order type', () => {
    expect(fieldsOf(() => replacementTerms(makeOrder(), { limitPrice: '1', stopPrice: '2' }))).toEqual([
      'limit_price',
      'stop_price',
    ]);
    expect(fieldsOf(() => replacementTerms(limitBuy(), { trailPrice: '1' }))).toEqual(['trail_price']);
    expect(
      fieldsOf(() => replacementTerms(makeOrder({ orderType: 'stop', stopPrice: '12' }), { limitPrice: '1' })),
    ).toEqual(['limit_price']);
    const byPercent = makeOrder({ orderType: 'trailing_stop', trailPercent: '2' });
    expect(fieldsOf(() => replacementTerms(byPercent, { trailPrice: '1' }))).toEqual(['trail_price']);
    expect(replacementTerms(byPercent, { trailPercent: '3' }).terms).toMatchObject({
      trailPercent: '3',
      trailPrice: null,
    });
  });

  it('keeps the cross-field rules: an extended-hours order stays a day order', () => {
    expect(fieldsOf(() => replacementTerms(limitBuy({ extendedHours: true }), { timeInForce: 'gtc' }))).toEqual([
      'extended_hours',
    ]);
  });
});

describe('isRiskReducing', () => {
  const sellLimit = makeOrder({ orderType: 'limit', limitPrice: '10', qty: '10', side: 'sell' });
  const buyStop = makeOrder({ orderType: 'stop', stopPrice: '12', qty: '10', side: 'buy' });
  const trail = makeOrder({ orderType: 'trailing_stop', trailPrice: '1', qty: '10', side: 'sell' });
  const reduces = (o: Order, r: ReplaceRequest) => isRiskReducing(o, replacementTerms(o, r).terms);

  it('less quantity, or a price moved away from the market, only takes risk off', () => {
    expect(reduces(limitBuy(), { qty: '4' })).toBe(true);
    expect(reduces(limitBuy(), { limitPrice: '9' })).toBe(true);
    expect(reduces(sellLimit, { limitPrice: '11' })).toBe(true);
    expect(reduces(buyStop, { stopPrice: '13' })).toBe(true);
    expect(reduces(trail, { trailPrice: '2' })).toBe(true);
  });

  it('more quantity, a price toward the market, a tighter trail or another time_in_force does not', () => {
    expect(reduces(limitBuy(), { qty: '11' })).toBe(false);
    expect(reduces(limitBuy(), { limitPrice: '10.01' })).toBe(false);
    expect(reduces(sellLimit, { limitPrice: '9.99' })).toBe(false);
    expect(reduces(buyStop, { stopPrice: '11' })).toBe(false);
    expect(reduces(trail, { trailPrice: '0.5' })).toBe(false);
    expect(reduces(limitBuy(), { qty: '4', timeInForce: 'gtc' })).toBe(false);
  });

  it('property: a replace judged risk-reducing never asks for more than the open quantity nor a better price for the order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 100, max: 2000 }),
        fc.integer({ min: 100, max: 2000 }),
        (side, qty, filled, oldCents, newCents) => {
          const old = limitBuy({ side, filledQty: String(filled), limitPrice: (oldCents / 100).toFixed(2) });
          const next = { ...old, qty: String(qty), limitPrice: new Decimal(newCents).div(100).toFixed() };
          if (!isRiskReducing(old, next)) return;
          expect(new Decimal(next.qty).lte(openQty(old))).toBe(true);
          const nearer =
            side === 'buy'
              ? new Decimal(next.limitPrice).gt(old.limitPrice!)
              : new Decimal(next.limitPrice).lt(old.limitPrice!);
          expect(nearer).toBe(false);
        },
      ),
    );
  });
});

describe('assertReplaceable', () => {
  it.each([
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
    'pending_cancel',
    'pending_replace',
    'accepted',
    'submitted',
    'submitted_unconfirmed',
    'dry_run',
  ] as const)('%s → 409 ORDER_NOT_REPLACEABLE naming the status', (status) => {
    try {
      assertReplaceable(limitBuy({ status }), []);
      throw new Error('not refused');
    } catch (err) {
      expect(err).toMatchObject({ code: 'ORDER_NOT_REPLACEABLE', kind: 'conflict', details: { status } });
    }
  });

  it('a pending_new order not yet at the broker is not replaceable', () => {
    expect(fieldsOf(() => assertReplaceable(limitBuy({ status: 'pending_new', brokerOrderId: null }), []))).toEqual([
      'ORDER_NOT_REPLACEABLE',
    ]);
  });

  it('an order with a replacement in flight is not replaceable; a rejected attempt holds nothing', () => {
    const inFlight = limitBuy({ clientOrderId: 'c-1-r1', status: 'pending_new', brokerOrderId: null });
    expect(fieldsOf(() => assertReplaceable(limitBuy(), [inFlight]))).toEqual(['ORDER_NOT_REPLACEABLE']);
    const rejected = { ...inFlight, status: 'rejected' as const };
    expect(fieldsOf(() => assertReplaceable(limitBuy(), [rejected]))).toEqual([]);
    expect(replacementHolds({ status: 'canceled', brokerOrderId: null })).toBe(false);
    expect(replacementHolds({ status: 'canceled', brokerOrderId: 'b-9' })).toBe(true);
  });

  it.each(['new', 'partially_filled', 'done_for_day'] as const)('%s at the broker is replaceable', (status) => {
    expect(fieldsOf(() => assertReplaceable(limitBuy({ status }), []))).toEqual([]);
  });

  it.each([
    ['an order with legs (bracket)', { orderClass: 'bracket' }, 'an order of class bracket'],
    ['an oco exit', { orderClass: 'oco' }, 'an order of class oco'],
    ['a take-profit leg', { orderClass: 'bracket', legType: 'take_profit', parentOrderId: 'c-1' }, 'take_profit leg'],
    ['a stop-loss leg', { orderClass: 'oto', legType: 'stop_loss', parentOrderId: 'c-1' }, 'stop_loss leg'],
  ] as const)('%s, open at the broker, → 409 ORDER_NOT_REPLACEABLE saying why', (_name, extra, why) => {
    const order = limitBuy({ status: 'new', ...extra });
    // Open, with a broker id and nothing in flight: only its class or leg keeps it from being replaced.
    expect(fieldsOf(() => assertReplaceable({ ...order, orderClass: 'simple', legType: null }, []))).toEqual([]);
    try {
      assertReplaceable(order, []);
      throw new Error('not refused');
    } catch (err) {
      expect(err).toMatchObject({ code: 'ORDER_NOT_REPLACEABLE', kind: 'conflict', details: { status: 'new' } });
      expect((err as Error).message).toContain(why);
    }
  });
});

describe('replacement ids', () => {
  it('number the chain from its first order', () => {
    expect(chainOf(makeOrder({ clientOrderId: 'abc' }))).toEqual({ root: 'abc', n: 0 });
    expect(chainOf(makeOrder({ clientOrderId: 'mine', metadata: { replace_chain: { root: 'abc', n: 2 } } }))).toEqual({
      root: 'abc',
      n: 2,
    });
    expect(replacementId('abc', 3)).toBe('abc-r3');
  });
});
