import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import type { BrokerOrder } from '../broker-client.port';
import { makeSim, MemorySimBookStore, order, record, rejection } from './sim-broker.spec-helpers';
import { SimBrokerClient } from './sim-broker.client';

/** A buy bracket: entry limit at 100, take-profit at 110, stop at 90. */
const bracket = (overrides: Parameters<typeof order>[0] = {}) =>
  order({
    type: 'limit',
    limitPrice: '100',
    orderClass: 'bracket',
    takeProfit: { limitPrice: '110' },
    stopLoss: { stopPrice: '90', limitPrice: null },
    timeInForce: 'gtc',
    ...overrides,
  });

async function legsOf(sim: SimBrokerClient, clientOrderId: string): Promise<BrokerOrder[]> {
  return (await sim.getOrderByClientOrderId(clientOrderId))?.legs ?? [];
}

describe('SimBrokerClient: bracket, oto and oco orders', () => {
  it('answers a bracket with its legs, held until the entry fills, each with ids of its own', async () => {
    const { sim } = makeSim();
    sim.setPrice('AAPL', '105');
    const ack = await sim.submitOrder(bracket({ clientOrderId: 'b1' }));
    expect(ack).toMatchObject({ orderClass: 'bracket', status: 'new' });
    expect(ack.legs?.map((l) => [l.type, l.side, l.status, l.limitPrice, l.stopPrice])).toEqual([
      ['limit', 'sell', 'held', '110', null],
      ['stop', 'sell', 'held', null, '90'],
    ]);
    expect(new Set([ack.id, ...ack.legs!.map((l) => l.id)]).size).toBe(3);
    expect(ack.legs!.map((l) => l.clientOrderId)).not.toContain('b1');
    // Held legs do not trade, whatever the price does.
    sim.setPrice('AAPL', '120');
    await sim.settle();
    expect((await legsOf(sim, 'b1')).map((l) => l.status)).toEqual(['held', 'held']);
    // The entry fills at 100: the legs work; the take-profit crosses at 111 and the stop is canceled.
    sim.setPrice('AAPL', '100');
    await sim.settle();
    expect((await legsOf(sim, 'b1')).map((l) => l.status)).toEqual(['new', 'new']);
    sim.setPrice('AAPL', '111');
    await sim.settle();
    const [tp, sl] = await legsOf(sim, 'b1');
    expect(tp).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '111' });
    expect(sl.status).toBe('canceled');
    expect(await sim.listPositions()).toEqual([]);
  });

  it('the stop follows the price: falling through it fills the stop and cancels the take-profit', async () => {
    const { sim } = makeSim();
    const rec = await record(sim);
    await sim.submitOrder(bracket({ clientOrderId: 'b2', type: 'market', limitPrice: null }));
    await sim.settle();
    sim.setPrice('AAPL', '89');
    await sim.settle();
    const [tp, sl] = await legsOf(sim, 'b2');
    expect(sl).toMatchObject({ status: 'filled', filledAvgPrice: '89' });
    expect(tp.status).toBe('canceled');
    // Each leg has its own updates on the stream, under its own ids.
    expect(rec.updates.filter((u) => u.order.id === sl.id).map((u) => u.event)).toEqual(['new', 'fill']);
    expect(rec.updates.filter((u) => u.order.id === tp.id).map((u) => u.event)).toEqual(['new', 'canceled']);
  });

  it('an oco is its take-profit limit with the stop as its one leg; the first to fill cancels the other', async () => {
    const { sim } = makeSim();
    await sim.submitOrder(order({ clientOrderId: 'long', qty: '5' }));
    await sim.settle();
    const ack = await sim.submitOrder(
      order({
        clientOrderId: 'x1',
        side: 'sell',
        qty: '5',
        type: 'limit',
        limitPrice: '120',
        orderClass: 'oco',
        takeProfit: { limitPrice: '120' },
        stopLoss: { stopPrice: '80', limitPrice: null },
      }),
    );
    expect(ack.legs?.map((l) => [l.type, l.side, l.status])).toEqual([['stop', 'sell', 'new']]);
    sim.setPrice('AAPL', '121');
    await sim.settle();
    expect(await sim.getOrderByClientOrderId('x1')).toMatchObject({ status: 'filled', filledAvgPrice: '121' });
    expect((await legsOf(sim, 'x1'))[0].status).toBe('canceled');
  });

  it('canceling the entry cancels its held legs; open lists answer legs under their parent', async () => {
    const { sim } = makeSim();
    const ack = await sim.submitOrder(
      bracket({
        clientOrderId: 'b3',
        limitPrice: '50',
        stopLoss: { stopPrice: '40', limitPrice: null },
        takeProfit: { limitPrice: '60' },
      }),
    );
    const open = await sim.listOrders({ status: 'open' });
    expect(open.map((o) => o.clientOrderId)).toEqual(['b3']);
    expect(open[0].legs).toHaveLength(2);
    await sim.cancelOrder(ack.id);
    expect((await legsOf(sim, 'b3')).map((l) => l.status)).toEqual(['canceled', 'canceled']);
  });

  it('refuses legs that do not fit their class, as the broker would', async () => {
    const { sim } = makeSim();
    const refuse = (o: Parameters<typeof order>[0]) => rejection(sim.submitOrder(order(o)));
    expect((await refuse({ orderClass: 'bracket', takeProfit: { limitPrice: '110' } })).kind).toBe('rejected');
    expect((await refuse({ orderClass: 'oto' })).kind).toBe('rejected');
    expect(
      (
        await refuse({
          orderClass: 'oco',
          takeProfit: { limitPrice: '110' },
          stopLoss: { stopPrice: '90', limitPrice: null },
        })
      ).message,
    ).toMatch(/limit/);
    expect((await refuse({ takeProfit: { limitPrice: '110' } })).kind).toBe('rejected');
  });

  it('the legs and their links survive a restart (durable book)', async () => {
    const store = new MemorySimBookStore();
    const first = makeSim().sim;
    await first.restore(store);
    await first.submitOrder(
      bracket({
        clientOrderId: 'b4',
        limitPrice: '90',
        takeProfit: { limitPrice: '95' },
        stopLoss: { stopPrice: '85', limitPrice: null },
      }),
    );
    await first.settle();
    await first.close();
    const second = makeSim().sim;
    await second.restore(store);
    expect((await legsOf(second, 'b4')).map((l) => l.status)).toEqual(['held', 'held']);
    second.setPrice('AAPL', '90');
    await second.settle();
    expect((await legsOf(second, 'b4')).map((l) => l.status)).toEqual(['new', 'new']);
    second.setPrice('AAPL', '84');
    await second.settle();
    expect((await legsOf(second, 'b4')).map((l) => l.status)).toEqual(['canceled', 'filled']);
    await second.close();
  });
});

describe('leg lifecycles (properties)', () => {
  const price = fc.integer({ min: 60, max: 140 }).map(String);

  it('over any price path: legs never trade before their entry filled, never beyond its fill, and at most one of a pair fills', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('bracket' as const, 'oto' as const),
        fc.constantFrom('buy' as const, 'sell' as const),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(price, { minLength: 1, maxLength: 25 }),
        async (orderClass, side, qty, partialFills, path) => {
          const { sim } = makeSim({ partialFills });
          const rec = await record(sim);
          const exitUp = side === 'buy'; // a buy entry exits by selling higher (take-profit) or lower (stop)
          const ack = await sim.submitOrder(
            order({
              clientOrderId: 'p',
              side,
              qty: String(qty),
              type: 'limit',
              limitPrice: '100',
              timeInForce: 'gtc',
              orderClass,
              takeProfit: { limitPrice: exitUp ? '110' : '90' },
              stopLoss: orderClass === 'bracket' ? { stopPrice: exitUp ? '90' : '110', limitPrice: null } : null,
            }),
          );
          const legIds = new Set(ack.legs!.map((l) => l.id));
          let entryFilled = new Decimal(0);
          for (const p of path) {
            sim.setPrice('AAPL', p);
            await sim.settle();
          }
          for (const u of rec.updates) {
            if (u.order.id === ack.id && u.execution) entryFilled = new Decimal(u.order.filledQty);
            if (legIds.has(u.order.id) && u.execution) {
              // A leg trades only once its entry has filled completely, and never more than the entry filled.
              expect(entryFilled.eq(qty)).toBe(true);
              expect(new Decimal(u.order.filledQty).lte(entryFilled)).toBe(true);
            }
          }
          const legs = await legsOf(sim, 'p');
          const traded = legs.filter((l) => new Decimal(l.filledQty).gt(0));
          expect(traded.length).toBeLessThanOrEqual(1);
          // Whatever happened, the position is the entry's fill less what one leg closed: never past flat.
          const position = new Decimal((await sim.listPositions())[0]?.qty ?? 0).abs();
          expect(position.lte(qty)).toBe(true);
          await sim.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('of an OCO pair exactly one fills when the price crosses either, and never both', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(price, { minLength: 1, maxLength: 20 }), async (path) => {
        const { sim } = makeSim();
        await sim.submitOrder(order({ clientOrderId: 'long', qty: '5' }));
        await sim.settle();
        const ack = await sim.submitOrder(
          order({
            clientOrderId: 'oco',
            side: 'sell',
            qty: '5',
            type: 'limit',
            limitPrice: '120',
            timeInForce: 'gtc',
            orderClass: 'oco',
            takeProfit: { limitPrice: '120' },
            stopLoss: { stopPrice: '80', limitPrice: null },
          }),
        );
        for (const p of path) {
          sim.setPrice('AAPL', p);
          await sim.settle();
        }
        const pair = [(await sim.getOrder(ack.id))!, ...(await legsOf(sim, 'oco'))];
        const filled = pair.filter((o) => o.status === 'filled');
        const crossed = path.some((p) => Number(p) >= 120 || Number(p) <= 80);
        expect(filled.length).toBe(crossed ? 1 : 0);
        if (crossed) expect(pair.filter((o) => o.status === 'canceled')).toHaveLength(1);
        expect(await sim.listPositions()).toEqual(crossed ? [] : [expect.objectContaining({ qty: '5' })]);
        await sim.close();
      }),
      { numRuns: 60 },
    );
  });
});
