import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import { makeSim, order } from './sim-broker.spec-helpers';
import { walkPath } from './sim-price-walk';
import { parseOrderTerms, ratchet, trailingStopAt } from './sim-order';

const WALK = { seed: 'unit', volatilityBps: '50', stepMs: 1000 };
const path = (symbol: string, start: string, steps: number): Decimal[] =>
  walkPath(WALK.seed, symbol, new Decimal(start), new Decimal(WALK.volatilityBps), steps);

describe('trailing stop: the ratchet', () => {
  const price = fc.integer({ min: 1, max: 1_000_000 }).map((c) => new Decimal(c).div(100));
  const trail = fc.oneof(
    price.map((p) => ({ trailPrice: p, trailPercent: null })),
    fc.integer({ min: 1, max: 9_999 }).map((c) => ({ trailPrice: null, trailPercent: new Decimal(c).div(100) })),
  );

  it('never moves the stop against the position, and keeps it the trail away from the best price (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('buy' as const, 'sell' as const),
        trail,
        fc.array(price, { minLength: 1 }),
        (side, t, prices) => {
          let state = { side, hwm: null as Decimal | null, stopPrice: null as Decimal | null, ...t };
          let best: Decimal | null = null;
          for (const p of prices) {
            const next = ratchet(state, p);
            if (state.stopPrice !== null) {
              // A sell's stop only rises, a buy's only falls.
              if (side === 'sell') expect(next.stopPrice.gte(state.stopPrice)).toBe(true);
              else expect(next.stopPrice.lte(state.stopPrice)).toBe(true);
            }
            best = best === null ? p : side === 'sell' ? Decimal.max(best, p) : Decimal.min(best, p);
            expect(next.hwm.eq(best)).toBe(true);
            expect(next.stopPrice.eq(trailingStopAt(side, best, t))).toBe(true);
            state = { ...state, ...next };
          }
        },
      ),
    );
  });

  it.each([
    ['sell', { trailPrice: new Decimal(2), trailPercent: null }, '100', '98'],
    ['buy', { trailPrice: new Decimal(2), trailPercent: null }, '100', '102'],
    ['sell', { trailPrice: null, trailPercent: new Decimal('1.5') }, '200', '197'],
    ['buy', { trailPrice: null, trailPercent: new Decimal('1.5') }, '200', '203'],
  ] as const)('%s with %j from %s → stop %s', (side, t, hwm, stop) => {
    expect(trailingStopAt(side, new Decimal(hwm), t).toFixed()).toBe(stop);
  });

  it('the sim refuses a trailing stop without exactly one trail, and a trail on another type', () => {
    const base = { symbol: 'AAPL', side: 'sell', type: 'trailing_stop', timeInForce: 'day', qty: '1' };
    const terms = (extra: object) => () => parseOrderTerms({ ...base, limitPrice: null, stopPrice: null, ...extra });
    expect(terms({})).toThrow(/exactly one of trail_price or trail_percent/);
    expect(terms({ trailPrice: '1', trailPercent: '1' })).toThrow(/exactly one/);
    expect(terms({ trailPrice: '-1' })).toThrow(/trail_price/);
    expect(terms({ type: 'market', trailPrice: '1' })).toThrow(/trail_price must not be given/);
    expect(terms({ trailPercent: '2' })().trailPercent?.toFixed()).toBe('2');
  });
});

describe('SimBrokerClient: a trailing stop on the price walk', () => {
  it('follows the best price and fills at the first step that falls through its stop', async () => {
    const { sim } = makeSim({ priceWalk: WALK });
    await sim.submitOrder(order({ clientOrderId: 'long', qty: '5' }));
    await sim.settle();
    const pct = new Decimal('0.5');
    await sim.submitOrder(
      order({ clientOrderId: 'ts', side: 'sell', qty: '5', type: 'trailing_stop', trailPercent: '0.5' }),
    );
    await sim.settle();
    // The expected path, computed here from the walk alone: the best price so far and the stop it sets.
    const prices = path('AAPL', '100', 2000);
    let hwm = new Decimal(100);
    let crossing = -1;
    let maxStop = hwm.mul(new Decimal(1).minus(pct.div(100)));
    for (let i = 0; i < prices.length; i += 1) {
      hwm = Decimal.max(hwm, prices[i]);
      const stop = hwm.mul(new Decimal(1).minus(pct.div(100)));
      if (prices[i].lte(stop)) {
        crossing = i + 1;
        maxStop = stop;
        break;
      }
    }
    expect(crossing).toBeGreaterThan(1);
    for (let n = 1; n < crossing; n += 1) sim.stepPrices();
    await sim.settle();
    const resting = await sim.getOrderByClientOrderId('ts');
    expect(resting).toMatchObject({ status: 'new', type: 'trailing_stop', trailPercent: '0.5', hwm: hwm.toFixed() });
    expect(resting?.stopPrice).toBe(maxStop.toFixed());
    sim.stepPrices();
    await sim.settle();
    expect(await sim.getOrderByClientOrderId('ts')).toMatchObject({
      status: 'filled',
      filledQty: '5',
      filledAvgPrice: prices[crossing - 1].toFixed(),
    });
    expect(await sim.listPositions()).toEqual([]);
  });
});
