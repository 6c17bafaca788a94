import { ManualClock } from '../../infra/clock/clock';
import { SimBrokerClient } from './sim-broker.client';
import { MemorySimBookStore, order, record, rejection } from './sim-broker.spec-helpers';
import type { SimBrokerOptions } from './sim-options';

const clock = new ManualClock(new Date('2026-01-05T15:00:00.000Z'));

/** A sim "process": ids carry its generation so a restart never reuses one. */
async function boot(store: MemorySimBookStore, generation: string, opts: Partial<SimBrokerOptions> = {}) {
  let n = 0;
  const sim = new SimBrokerClient({
    clock,
    referencePrices: { AAPL: '100' },
    idFactory: () => `${generation}-${++n}`,
    ...opts,
  });
  const errors: unknown[] = [];
  await sim.restore(store, (e) => errors.push(e));
  return { sim, errors };
}

describe('SimBrokerClient: a durable book (docs/simulator.md#durability)', () => {
  it('a restarted sim reports the same orders, fills, positions and cash, and keeps client_order_ids taken', async () => {
    const store = new MemorySimBookStore();
    const { sim: a } = await boot(store, 'a', { partialFills: 2 });
    await a.submitOrder(order({ clientOrderId: 'buy-1', qty: '10' }));
    a.setPrice('AAPL', '110');
    await a.submitOrder(order({ clientOrderId: 'sell-1', side: 'sell', qty: '4' }));
    await a.submitOrder(order({ clientOrderId: 'rest-1', type: 'limit', limitPrice: '90', qty: '2' }));
    await a.submitOrder(order({ clientOrderId: 'stop-1', side: 'sell', type: 'stop', stopPrice: '95', qty: '1' }));
    await a.settle();
    await a.close();
    const before = {
      orders: await a.listOrders({ status: 'all', limit: 500 }),
      fills: await a.listFills({}),
      positions: await a.listPositions(),
      account: await a.getAccount(),
    };

    const { sim: b } = await boot(store, 'b', { partialFills: 2 });
    expect(await b.listOrders({ status: 'all', limit: 500 })).toEqual(before.orders);
    expect(await b.listFills({})).toEqual(before.fills);
    expect(await b.listPositions()).toEqual(before.positions);
    expect(await b.getAccount()).toMatchObject({ cash: before.account.cash, equity: before.account.equity });
    expect(b.realizedPl('AAPL')).toBe('40');

    const dup = await rejection(b.submitOrder(order({ clientOrderId: 'buy-1' })));
    expect(dup.details.duplicateClientOrderId).toBe(true);
    // Fill pages continue from a token of the earlier process.
    const firstPage = await b.listFills({ pageSize: 1 });
    expect((await b.listFills({ pageToken: firstPage.nextPageToken! })).fills).toEqual(before.fills.fills.slice(1));
  });

  it('open orders restored after a restart still rest and fill on a later move, on the new stream', async () => {
    const store = new MemorySimBookStore();
    const { sim: a } = await boot(store, 'a');
    await a.submitOrder(order({ clientOrderId: 'rest-1', type: 'limit', limitPrice: '90', qty: '2' }));
    await a.submitOrder(order({ clientOrderId: 'slim-1', type: 'stop_limit', stopPrice: '120', limitPrice: '125' }));
    await a.settle();
    await a.close();

    const { sim: b } = await boot(store, 'b');
    const rec = await record(b);
    b.setPrice('AAPL', '89.5');
    await b.settle();
    expect(await b.getOrderByClientOrderId('rest-1')).toMatchObject({ status: 'filled', filledAvgPrice: '89.5' });
    expect(rec.log).toEqual(['connected:false', 'fill:rest-1']);
    // New orders are numbered after the restored ones (newest first).
    await b.submitOrder(order({ clientOrderId: 'next-1', type: 'limit', limitPrice: '1' }));
    const open = await b.listOrders({ status: 'open' });
    expect(open.map((o) => o.clientOrderId)).toEqual(['next-1', 'slim-1']);
    await b.close();
    expect([...store.executions.values()].map((e) => e.orderId)).toEqual([
      (await b.getOrderByClientOrderId('rest-1'))!.id,
    ]);
  });

  it('walked prices and step counters come back, and the walk continues where it was', async () => {
    const store = new MemorySimBookStore();
    const walk = { priceWalk: { seed: 'restart', volatilityBps: '40' } };
    const { sim: a } = await boot(store, 'a', walk);
    for (let i = 0; i < 5; i += 1) a.stepPrices();
    await a.close();
    const { sim: b } = await boot(store, 'b', walk);
    expect(b.prices()).toEqual(a.prices());
    a.stepPrices();
    b.stepPrices();
    expect(b.prices()).toEqual(a.prices());
    expect(b.prices()[0].step).toBe(6);
  });

  it('answers a command only once it is stored; a failed save is a lost answer, retried with the next change', async () => {
    const store = new MemorySimBookStore();
    const { sim, errors } = await boot(store, 'a');
    store.failures = 1;
    const lost = await rejection(sim.submitOrder(order({ clientOrderId: 'lost-1', type: 'limit', limitPrice: '1' })));
    expect(lost.kind).toBe('unknown_outcome');
    expect(errors).toHaveLength(1);
    // The order exists on the sim all the same, and the next save carries it.
    expect(await sim.getOrderByClientOrderId('lost-1')).toMatchObject({ status: 'new' });
    await sim.submitOrder(order({ clientOrderId: 'ok-1', type: 'limit', limitPrice: '1' }));
    expect([...store.orders.values()].map((o) => o.clientOrderId).sort()).toEqual(['lost-1', 'ok-1']);
  });

  it('delivers an update on the stream only after its change is stored', async () => {
    const store = new MemorySimBookStore();
    const { sim } = await boot(store, 'a');
    const rec = await record(sim);
    await sim.submitOrder(order({ clientOrderId: 'held-1', type: 'limit', limitPrice: '90' }));
    await sim.settle();
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    sim.setPrice('AAPL', '85');
    await new Promise((r) => setTimeout(r, 20));
    expect(rec.log).toEqual(['connected:false', 'new:held-1']);
    expect(store.executions.size).toBe(0);
    release();
    await sim.settle();
    expect(rec.log).toEqual(['connected:false', 'new:held-1', 'fill:held-1']);
    expect(store.executions.size).toBe(1);
  });

  it("an update waits for its own change only, not for the book's later changes", async () => {
    const store = new MemorySimBookStore();
    const { sim } = await boot(store, 'a');
    const rec = await record(sim);
    await sim.submitOrder(order({ clientOrderId: 'mine', type: 'limit', limitPrice: '90' }));
    await sim.settle();
    // The fill's batch is saved at once; the next batch (another symbol's price) is held.
    sim.setPrice('AAPL', '85');
    await new Promise((r) => setImmediate(r)); // its save has started
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    sim.setPrice('OTHER', '10');
    await new Promise((r) => setTimeout(r, 20));
    expect(rec.log).toEqual(['connected:false', 'new:mine', 'fill:mine']);
    expect(store.prices.has('OTHER')).toBe(false);
    release();
    await sim.settle();
    await sim.close();
    expect(store.prices.get('OTHER')?.price.toFixed()).toBe('10');
  });

  it('group commit: changes made while a save is under way share the next batch', async () => {
    const store = new MemorySimBookStore();
    const { sim } = await boot(store, 'a');
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    const first = sim.submitOrder(order({ clientOrderId: 'g-0', type: 'limit', limitPrice: '1' }));
    await new Promise((r) => setTimeout(r, 5));
    const rest = [1, 2, 3].map((i) =>
      sim.submitOrder(order({ clientOrderId: `g-${i}`, type: 'limit', limitPrice: '1' })),
    );
    store.gate = null;
    release();
    await Promise.all([first, ...rest]);
    expect(store.batches.map((b) => b.orders.map((o) => o.clientOrderId))).toEqual([['g-0'], ['g-1', 'g-2', 'g-3']]);
  });

  it('refuses to attach a second store', async () => {
    const store = new MemorySimBookStore();
    const { sim } = await boot(store, 'a');
    await expect(sim.restore(store)).rejects.toThrow(/already attached/);
  });
});
