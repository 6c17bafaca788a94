import fc from 'fast-check';
import { ManualClock } from '../../infra/clock/clock';
import type { BrokerOrderRequest } from '../broker-client.port';
import { SimBrokerClient } from './sim-broker.client';
import { MemorySimBookStore } from './sim-broker.spec-helpers';
import type { SimBrokerOptions } from './sim-options';

/**
 * The sim's buying power sums each symbol's reserve again only when that
 * symbol's orders, position or price changed (sim-exchange.ts reserveOf). The
 * oracle: a sim restored from the same durable book, whose reserves are all
 * summed from scratch, reports the same buying power after any sequence of
 * submissions, fills, partial fills, triggers, cancels, replaces and price moves.
 */
const SYMBOLS = ['AAPL', 'MSFT'] as const;

type Op =
  | { kind: 'submit'; req: Omit<BrokerOrderRequest, 'clientOrderId'> }
  | { kind: 'cancel'; pick: number }
  | { kind: 'replace'; pick: number; qty: number; limit: number }
  | { kind: 'price'; symbol: string; price: number };

const price = fc.integer({ min: 80, max: 120 });
const submit: fc.Arbitrary<Op> = fc
  .record({
    symbol: fc.constantFrom(...SYMBOLS),
    side: fc.constantFrom('buy' as const, 'sell' as const),
    qty: fc.integer({ min: 1, max: 20 }),
    type: fc.constantFrom('market' as const, 'limit' as const, 'stop' as const, 'stop_limit' as const),
    limit: price,
    stop: price,
    tif: fc.constantFrom('day' as const, 'gtc' as const, 'ioc' as const),
  })
  .map(({ symbol, side, qty, type, limit, stop, tif }) => ({
    kind: 'submit',
    req: {
      symbol,
      side,
      qty: String(qty),
      type,
      timeInForce: type === 'market' || type === 'limit' ? tif : 'day',
      limitPrice: type === 'limit' || type === 'stop_limit' ? String(limit) : null,
      stopPrice: type === 'stop' || type === 'stop_limit' ? String(stop) : null,
    },
  }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: submit },
  fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('replace' as const),
    pick: fc.nat(),
    qty: fc.integer({ min: 1, max: 20 }),
    limit: price,
  }),
  fc.record({ kind: fc.constant('price' as const), symbol: fc.constantFrom(...SYMBOLS), price }),
);

async function boot(store: MemorySimBookStore, generation: string, opts: Partial<SimBrokerOptions>) {
  let n = 0;
  const sim = new SimBrokerClient({
    clock: new ManualClock(new Date('2026-01-05T15:00:00.000Z')),
    referencePrices: { AAPL: '100', MSFT: '100' },
    idFactory: () => `${generation}-${++n}`,
    startingCash: '1000000',
    ...opts,
  });
  await sim.restore(store);
  return sim;
}

async function run(sim: SimBrokerClient, ops: Op[], n: { next: number }): Promise<void> {
  for (const o of ops) {
    const open = () => sim.listOrders({ status: 'open', limit: 500 });
    if (o.kind === 'submit') {
      await sim.submitOrder({ ...o.req, clientOrderId: `o-${n.next++}` }).catch(() => undefined);
    } else if (o.kind === 'price') {
      sim.setPrice(o.symbol, String(o.price));
    } else {
      const orders = await open();
      const target = orders[o.pick % Math.max(1, orders.length)];
      if (!target) continue;
      if (o.kind === 'cancel') await sim.cancelOrder(target.id).catch(() => undefined);
      else {
        const terms = target.type === 'limit' ? { limitPrice: String(o.limit) } : {};
        await sim
          .replaceOrder(target.id, { qty: String(o.qty), ...terms, clientOrderId: `o-${n.next++}` })
          .catch(() => undefined);
      }
    }
    await sim.settle();
  }
}

describe('SimExchange buying power: reserves summed again only where something changed', () => {
  it('equals the buying power of a sim restored from the same book (every reserve summed from scratch)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.record({
          partialFills: fc.integer({ min: 1, max: 3 }),
          liquidity: fc.option(fc.integer({ min: 1, max: 15 })),
        }),
        async (ops, o) => {
          const opts: Partial<SimBrokerOptions> = {
            partialFills: o.partialFills,
            ...(o.liquidity === null ? {} : { defaultLiquidity: String(o.liquidity) }),
          };
          const store = new MemorySimBookStore();
          const n = { next: 0 };
          // After each step the sim stops (its book saved) and the next one, restored from the book, checks it.
          let sim = await boot(store, 'a', opts);
          await sim.getAccount(); // every reserve summed once, before the first step changes anything
          for (const [i, step] of ops.entries()) {
            await run(sim, [step], n);
            const { buyingPower } = await sim.getAccount();
            await sim.close();
            sim = await boot(store, `b${i}`, opts);
            expect(buyingPower).toBe((await sim.getAccount()).buyingPower);
          }
          await sim.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
