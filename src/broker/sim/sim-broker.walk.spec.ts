import { Decimal } from '../../common/decimal';
import { ManualScheduler } from '../../infra/clock/manual-scheduler';
import { makeSim, order, record } from './sim-broker.spec-helpers';
import { walkPath, walkStep } from './sim-price-walk';

const WALK = { seed: 'unit', volatilityBps: '50', stepMs: 1000 };
const path = (symbol: string, start: string, steps: number) =>
  walkPath(WALK.seed, symbol, new Decimal(start), new Decimal(WALK.volatilityBps), steps).map((p) => p.toFixed());

/** The first step (1-based) at which `cond` holds on the symbol's path, within `max` steps. */
function firstStep(symbol: string, start: string, cond: (p: Decimal) => boolean, max = 500): number {
  const p = path(symbol, start, max);
  const i = p.findIndex((x) => cond(new Decimal(x)));
  if (i < 0) throw new Error('the path never meets the condition; pick another seed');
  return i + 1;
}

describe('SimBrokerClient: the price walk', () => {
  it('follows the pure walk exactly, per symbol, one step per timer tick', async () => {
    const walkScheduler = new ManualScheduler();
    const { sim } = makeSim({ priceWalk: WALK, walkScheduler });
    sim.startPriceWalk();
    await walkScheduler.advance(3000);
    expect(sim.prices()).toEqual([
      { symbol: 'AAPL', price: path('AAPL', '100', 3)[2], step: 3 },
      { symbol: 'MSFT', price: path('MSFT', '400', 3)[2], step: 3 },
    ]);
    expect(sim.referencePrice('AAPL')).toBe(path('AAPL', '100', 3)[2]);
    expect(sim.referencePrice('AAPL')).not.toBe('100');
  });

  it('the same seed gives the same prices in another sim; stop() stops the timer', async () => {
    const runs = await Promise.all(
      [1, 2].map(async () => {
        const walkScheduler = new ManualScheduler();
        const { sim } = makeSim({ priceWalk: WALK, walkScheduler });
        sim.startPriceWalk();
        await walkScheduler.advance(5000);
        await sim.close();
        await walkScheduler.advance(5000);
        return sim.prices();
      }),
    );
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0][0].step).toBe(5);
  });

  it('volatility 0 (the default): no timer, prices never move', async () => {
    const walkScheduler = new ManualScheduler();
    const { sim } = makeSim({ walkScheduler });
    sim.startPriceWalk();
    await walkScheduler.advance(60_000);
    sim.stepPrices();
    expect(sim.referencePrice('AAPL')).toBe('100');
    expect(sim.referencePrice('NEW')).toBe('100');
    expect(sim.priceWalk).toEqual({ seed: 'sim', volatilityBps: '0', stepMs: 1000, enabled: false });
  });

  it('a resting limit buy below the market fills at the first step that crosses it, at that price', async () => {
    const { sim } = makeSim({ priceWalk: WALK });
    const rec = await record(sim);
    const limit = new Decimal('99');
    const crossing = firstStep('AAPL', '100', (p) => p.lte(limit));
    await sim.submitOrder(order({ clientOrderId: 'lb-1', type: 'limit', limitPrice: '99' }));
    for (let n = 1; n < crossing; n += 1) sim.stepPrices();
    await sim.settle();
    expect((await sim.getOrderByClientOrderId('lb-1'))?.status).toBe('new');
    sim.stepPrices();
    await sim.settle();
    const filled = await sim.getOrderByClientOrderId('lb-1');
    expect(filled).toMatchObject({
      status: 'filled',
      filledQty: '10',
      filledAvgPrice: path('AAPL', '100', crossing).at(-1),
    });
    expect(rec.log).toEqual(['connected:false', 'new:lb-1', 'fill:lb-1']);
  });

  it('a stop sell triggers when the walk falls through the stop; a position is marked at the walked price', async () => {
    const { sim } = makeSim({ priceWalk: WALK });
    await sim.submitOrder(order({ clientOrderId: 'buy', qty: '5' }));
    await sim.settle();
    const stop = new Decimal('98.5');
    const crossing = firstStep('AAPL', '100', (p) => p.lte(stop));
    await sim.submitOrder(order({ clientOrderId: 'stop', side: 'sell', qty: '5', type: 'stop', stopPrice: '98.5' }));
    for (let n = 1; n < crossing; n += 1) sim.stepPrices();
    await sim.settle();
    const [position] = await sim.listPositions();
    const marked = path('AAPL', '100', crossing - 1).at(-1)!;
    expect(position).toMatchObject({ symbol: 'AAPL', qty: '5', currentPrice: marked });
    expect(position!.unrealizedPl).toBe(new Decimal(marked).minus(100).mul(5).toFixed());
    expect((await sim.getOrderByClientOrderId('stop'))?.status).toBe('new');
    sim.stepPrices();
    await sim.settle();
    expect(await sim.getOrderByClientOrderId('stop')).toMatchObject({ status: 'filled' });
    expect(await sim.listPositions()).toEqual([]);
  });

  it('a symbol looked up while the walk is on starts walking from the default price', () => {
    const { sim } = makeSim({ priceWalk: WALK });
    expect(sim.referencePrice('LOOK')).toBe('100');
    sim.stepPrices();
    expect(sim.referencePrice('LOOK')).toBe(path('LOOK', '100', 1)[0]);
  });

  it("an operator's price replaces the current one and the walk continues from it", () => {
    const { sim } = makeSim({ priceWalk: WALK });
    sim.stepPrices();
    sim.setPrice('AAPL', '150');
    sim.stepPrices();
    const expected = walkStep({
      seed: WALK.seed,
      symbol: 'AAPL',
      step: 1,
      price: new Decimal(150),
      volatilityBps: new Decimal(WALK.volatilityBps),
    });
    expect(sim.referencePrice('AAPL')).toBe(expected.toFixed());
  });

  it('refuses a volatility above 1000 bps and a step under 1 ms', () => {
    expect(() => makeSim({ priceWalk: { volatilityBps: '1001' } })).toThrow(RangeError);
    expect(() => makeSim({ priceWalk: { stepMs: 0 } })).toThrow(RangeError);
  });
});
