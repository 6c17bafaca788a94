import { ManualClock } from '../../infra/clock/clock';
import type { BrokerFill, BrokerOrderRequest } from '../broker-client.port';
import { SimBrokerClient } from './sim-broker.client';
import { MemorySimBookStore, order, rejection } from './sim-broker.spec-helpers';
import { SIM_RETAINED_DEFAULT, type SimBrokerOptions } from './sim-options';

/** docs/simulator.md#memory-and-retention */
const N = 10;

async function boot(opts: Partial<SimBrokerOptions> & { store?: MemorySimBookStore; generation?: string } = {}) {
  const clock = new ManualClock(new Date('2026-01-05T15:00:00.000Z'));
  let n = 0;
  const generation = opts.generation ?? 'g';
  const sim = new SimBrokerClient({
    clock,
    referencePrices: { AAPL: '100', MSFT: '400' },
    idFactory: () => `${generation}-${++n}`,
    retainedEndedOrders: N,
    retainedExecutions: N,
    ...opts,
  });
  if (opts.store) await sim.restore(opts.store);
  return { sim, clock };
}

/** `count` market orders of 1 share, buys and sells alternating (flat), one second apart: each fills and ends. */
async function trade(sim: SimBrokerClient, clock: ManualClock, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    clock.advance(1000);
    await sim.submitOrder(order({ clientOrderId: `${prefix}-${i}`, qty: '1', side: i % 2 === 0 ? 'buy' : 'sell' }));
  }
  await sim.settle();
}

const restingBuy = (clientOrderId: string): BrokerOrderRequest =>
  order({ clientOrderId, type: 'limit', limitPrice: '90', qty: '2', timeInForce: 'gtc' });
const bracket = (clientOrderId: string): BrokerOrderRequest =>
  order({
    clientOrderId,
    type: 'limit',
    limitPrice: '95',
    orderClass: 'bracket',
    takeProfit: { limitPrice: '110' },
    stopLoss: { stopPrice: '80', limitPrice: null },
    timeInForce: 'gtc',
  });

async function allFills(sim: SimBrokerClient, pageSize = 3): Promise<BrokerFill[]> {
  const fills: BrokerFill[] = [];
  let pageToken: string | undefined;
  do {
    const page = await sim.listFills({ pageSize, pageToken });
    fills.push(...page.fills);
    pageToken = page.nextPageToken ?? undefined;
  } while (pageToken !== undefined);
  return fills;
}

describe('SimBrokerClient: memory bound (ended orders and executions)', () => {
  it('with the default bound, thousands of orders leave at most that many ended orders and executions in memory', async () => {
    const { sim, clock } = await boot({ retainedEndedOrders: undefined, retainedExecutions: undefined });
    await sim.submitOrder(restingBuy('rest'));
    await trade(sim, clock, 'x', 3 * SIM_RETAINED_DEFAULT);
    const use = sim.memoryUse();
    expect(use.orders).toBe(SIM_RETAINED_DEFAULT + 1); // the resting order on top of the bound
    expect(use.clientOrderIds).toBe(SIM_RETAINED_DEFAULT + 1);
    expect(use.executions).toBe(SIM_RETAINED_DEFAULT);
    expect(use.evictedOrders).toBe(2 * SIM_RETAINED_DEFAULT);
    expect(use.evictedExecutions).toBe(2 * SIM_RETAINED_DEFAULT);
    expect((await sim.getOrderByClientOrderId('rest'))?.status).toBe('new');
    // The per-id submission counts (a test aid) are bounded too: the oldest ids are forgotten.
    expect(sim.submissionCount(`x-${3 * SIM_RETAINED_DEFAULT - 1}`)).toBe(1);
    expect(sim.submissionCount('x-0')).toBe(0);
  });

  it('never drops open or held orders: they rest, fill and release their legs after many others ended', async () => {
    const { sim, clock } = await boot();
    await sim.submitOrder(restingBuy('rest'));
    await sim.submitOrder(bracket('br'));
    await trade(sim, clock, 'a', 5 * N);
    const use = sim.memoryUse();
    expect(use.orders).toBeLessThanOrEqual(N + 4); // the bound plus the resting order and the bracket (3 orders)
    expect(use.executions).toBe(N);
    expect((await sim.getOrderByClientOrderId('br'))?.legs?.map((l) => l.status)).toEqual(['held', 'held']);

    sim.setPrice('AAPL', '89');
    await sim.settle();
    expect((await sim.getOrderByClientOrderId('rest'))?.status).toBe('filled');
    const br = await sim.getOrderByClientOrderId('br');
    expect(br?.status).toBe('filled');
    expect(br?.legs?.map((l) => l.status)).toEqual(['new', 'new']);
    // Once the whole bracket ended, it is dropped like any ended order.
    sim.setPrice('AAPL', '111');
    await sim.settle();
    await trade(sim, clock, 'b', 2 * N);
    expect(sim.memoryUse().orders).toBeLessThanOrEqual(N);
    expect(await sim.getOrderByClientOrderId('br')).toBeNull();
  });

  it('keeps execution sequence numbers increasing after executions were dropped', async () => {
    const store = new MemorySimBookStore();
    const { sim, clock } = await boot({ store });
    await trade(sim, clock, 'a', 3 * N);
    await sim.close();
    const seqs = [...store.executions.values()].map((e) => e.seq).sort((a, b) => a - b);
    expect(seqs).toEqual([...Array(3 * N).keys()]);
  });

  describe('without a durable book', () => {
    it('answers a dropped order as unknown; retained ended orders still answer and keep their client_order_id', async () => {
      const { sim, clock } = await boot();
      await trade(sim, clock, 'a', 3 * N);
      const dropped = 'a-0';
      expect(await sim.getOrderByClientOrderId(dropped)).toBeNull();
      const cancel = await rejection(sim.cancelOrder('g-1'));
      expect(cancel.kind).toBe('not_found');
      expect(await sim.getOrder('g-1')).toBeNull();

      const retained = `a-${3 * N - 1}`;
      const kept = await sim.getOrderByClientOrderId(retained);
      expect(kept?.status).toBe('filled');
      expect(await sim.getOrder(kept!.id)).toEqual(kept);
      const dup = await rejection(sim.submitOrder(order({ clientOrderId: retained, qty: '1' })));
      expect(dup.details.duplicateClientOrderId).toBe(true);
      // The documented window: a client_order_id of a dropped order is free again.
      await expect(sim.submitOrder(order({ clientOrderId: dropped, qty: '1' }))).resolves.toMatchObject({
        clientOrderId: dropped,
      });
    });

    it('lists only the retained orders and fills, pages included; a page token that was dropped is refused', async () => {
      const { sim, clock } = await boot();
      await trade(sim, clock, 'a', 3 * N);
      const orders = await sim.listOrders({ status: 'all', limit: 500 });
      expect(orders.map((o) => o.clientOrderId)).toEqual(
        [...Array(N).keys()].map((i) => `a-${3 * N - 1 - i}`), // newest first
      );
      const closed = await sim.listOrders({ status: 'closed', limit: 3 });
      expect(closed.map((o) => o.clientOrderId)).toEqual(orders.slice(0, 3).map((o) => o.clientOrderId));

      const first = await sim.listFills({ pageSize: 3 });
      const fills = await allFills(sim);
      expect(fills).toHaveLength(N);
      expect(fills.map((f) => f.brokerOrderId)).toEqual(orders.map((o) => o.id).reverse()); // oldest first
      await trade(sim, clock, 'b', N);
      const refused = await rejection(sim.listFills({ pageToken: first.nextPageToken! }));
      expect(refused.message).toContain('invalid page_token');
    });
  });

  describe('with a durable book', () => {
    it('reads nothing from the store until something left memory', async () => {
      const store = new MemorySimBookStore();
      const { sim, clock } = await boot({ store });
      await trade(sim, clock, 'a', N);
      await sim.listOrders({ status: 'all' });
      await allFills(sim);
      expect(await sim.getOrderByClientOrderId('nope')).toBeNull();
      expect(store.reads).toBe(0);
    });

    it('answers a dropped order from the store, legs nested, by id and client_order_id; cancel and replace refuse it', async () => {
      const store = new MemorySimBookStore();
      const { sim, clock } = await boot({ store });
      await sim.submitOrder(bracket('br'));
      sim.setPrice('AAPL', '95');
      await sim.settle();
      sim.setPrice('AAPL', '111');
      await sim.settle();
      const before = await sim.getOrderByClientOrderId('br');
      expect(before?.legs?.map((l) => l.status)).toEqual(['filled', 'canceled']);
      await trade(sim, clock, 'a', 3 * N);
      expect(sim.memoryUse().orders).toBeLessThanOrEqual(N);

      expect(await sim.getOrderByClientOrderId('br')).toEqual(before);
      expect(await sim.getOrder(before!.id)).toEqual(before);
      expect(await sim.getOrder(before!.legs![0].id)).toEqual({ ...before!.legs![0], legs: undefined });
      expect(await sim.getOrder('never-existed')).toBeNull();
      const cancel = await rejection(sim.cancelOrder(before!.id));
      expect(cancel.message).toContain('not cancelable (status filled)');
      const replace = await rejection(sim.replaceOrder(before!.id, { qty: '1' }));
      expect(replace.message).toContain('not replaceable (status filled)');
      expect((await rejection(sim.cancelOrder('never-existed'))).kind).toBe('not_found');
    });

    it('refuses a client_order_id a dropped order carried (submit and replace), and one still in memory', async () => {
      const store = new MemorySimBookStore();
      const { sim, clock } = await boot({ store });
      await trade(sim, clock, 'a', 3 * N);
      const reads = store.reads;
      for (const clientOrderId of ['a-0', `a-${3 * N - 1}`]) {
        const dup = await rejection(sim.submitOrder(order({ clientOrderId, qty: '1' })));
        expect(dup.details.duplicateClientOrderId).toBe(true);
      }
      expect(store.reads).toBe(reads + 1); // the retained one needed no read
      const resting = await sim.submitOrder(restingBuy('rest'));
      const dup = await rejection(sim.replaceOrder(resting.id, { clientOrderId: 'a-1', qty: '1' }));
      expect(dup.details.duplicateClientOrderId).toBe(true);
      await expect(sim.submitOrder(order({ clientOrderId: 'fresh', qty: '1' }))).resolves.toMatchObject({
        clientOrderId: 'fresh',
      });
    });

    it('lists every order and fill from the store once some left memory; pages continue into memory', async () => {
      const store = new MemorySimBookStore();
      const { sim, clock } = await boot({ store });
      await sim.submitOrder(restingBuy('rest'));
      await trade(sim, clock, 'a', 3 * N);
      const all = await sim.listOrders({ status: 'all', limit: 500 });
      expect(all).toHaveLength(3 * N + 1);
      expect(all[0].clientOrderId).toBe(`a-${3 * N - 1}`);
      expect(all.at(-1)?.clientOrderId).toBe('rest');
      const closed = await sim.listOrders({ status: 'closed', limit: 500, after: new Date('2026-01-05T15:00:05Z') });
      expect(closed.map((o) => o.clientOrderId)).toEqual([...Array(3 * N - 5).keys()].map((i) => `a-${3 * N - 1 - i}`));
      expect((await sim.listOrders({ status: 'open' })).map((o) => o.clientOrderId)).toEqual(['rest']);

      const fills = await allFills(sim, 7);
      expect(fills).toHaveLength(3 * N);
      expect(fills.map((f) => f.brokerOrderId)).toEqual(
        all
          .filter((o) => o.clientOrderId !== 'rest')
          .map((o) => o.id)
          .reverse(),
      );
      // A recent `after` that no dropped execution is later than is answered from memory alone.
      const reads = store.reads;
      const recent = await sim.listFills({ after: fills[3 * N - 3].transactionTime });
      expect(recent.fills).toEqual(fills.slice(3 * N - 2));
      expect(store.reads).toBe(reads);
    });

    it('after a restart, keeps only the bound in memory and reads the rest from the store', async () => {
      const store = new MemorySimBookStore();
      const { sim: a, clock } = await boot({ store, generation: 'a' });
      await a.submitOrder(restingBuy('rest'));
      await trade(a, clock, 'a', 3 * N);
      await a.close();
      const fillsBefore = await allFills(a);

      const { sim: b } = await boot({ store, generation: 'b' });
      expect(b.memoryUse()).toMatchObject({ orders: N + 1, executions: N });
      expect(await b.getOrderByClientOrderId('a-0')).toMatchObject({ status: 'filled' });
      expect((await rejection(b.submitOrder(order({ clientOrderId: 'a-0' })))).details.duplicateClientOrderId).toBe(
        true,
      );
      expect(await allFills(b)).toEqual(fillsBefore);
      await trade(b, clock, 'b', 2);
      const after = await allFills(b);
      expect(after.slice(0, 3 * N)).toEqual(fillsBefore);
      expect(after).toHaveLength(3 * N + 2);
      b.setPrice('AAPL', '89');
      await b.settle();
      expect((await b.getOrderByClientOrderId('rest'))?.status).toBe('filled');
    });
  });
});
