/**
 * The sim's book in PostgreSQL (src/broker/sim/sim-book.pg-store.ts): what is
 * saved loads back exactly (decimals, nulls, timestamps), a re-saved order is
 * updated, an execution is stored once, and a batch is all or nothing.
 */
import { DataSource } from 'typeorm';
import { PgSimBookStore } from '../../../src/broker/sim/sim-book.pg-store';
import type { SimExecution } from '../../../src/broker/sim/sim-exchange';
import type { SimOrder } from '../../../src/broker/sim/sim-order';
import { Decimal } from '../../../src/common/decimal';
import { createDataSource } from '../../../src/infra/database/data-source';
import { createTestDatabase, TestDatabase } from '../../support/database';

const T0 = new Date('2026-01-05T15:00:00.123Z');

function simOrder(over: Partial<SimOrder> = {}): SimOrder {
  return {
    seq: 1,
    id: 'o-1',
    clientOrderId: 'c-1',
    symbol: 'AAPL',
    side: 'buy',
    type: 'limit',
    timeInForce: 'gtc',
    qty: new Decimal('10'),
    limitPrice: new Decimal('190.1234'),
    stopPrice: null,
    trailPrice: null,
    trailPercent: null,
    hwm: null,
    status: 'new',
    triggered: true,
    filledQty: new Decimal(0),
    filledNotional: new Decimal(0),
    createdAt: T0,
    updatedAt: T0,
    submittedAt: T0,
    filledAt: null,
    canceledAt: null,
    orderClass: 'simple',
    legType: null,
    parentId: null,
    replaces: null,
    replacedBy: null,
    ...over,
  };
}

function execution(over: Partial<SimExecution> = {}): SimExecution {
  return {
    seq: 0,
    executionId: 'x-1',
    orderId: 'o-1',
    symbol: 'AAPL',
    side: 'buy',
    qty: new Decimal('4'),
    price: new Decimal('190.01'),
    cumQty: new Decimal('4'),
    leavesQty: new Decimal('6'),
    positionQty: new Decimal('4'),
    transactionTime: new Date(T0.getTime() + 5),
    ...over,
  };
}

describe('PgSimBookStore (integration)', () => {
  let database: TestDatabase;
  let ds: DataSource;
  let store: PgSimBookStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    ds = createDataSource({ url: database.url, poolSize: 2 });
    await ds.initialize();
    store = new PgSimBookStore(ds);
  });

  afterAll(async () => {
    await ds.destroy();
    await database.drop();
  });

  it('loads back exactly what was saved, an order updated in place, an execution once', async () => {
    expect(await store.load()).toEqual({ orders: [], executions: [], prices: [] });
    await store.save({
      orders: [simOrder()],
      executions: [],
      prices: [{ symbol: 'AAPL', price: new Decimal('190.57'), step: 3 }],
    });
    const partially = simOrder({
      status: 'partially_filled',
      filledQty: new Decimal('4'),
      filledNotional: new Decimal('760.04'),
      updatedAt: new Date(T0.getTime() + 5),
    });
    await store.save({
      orders: [partially],
      executions: [execution()],
      prices: [{ symbol: 'AAPL', price: new Decimal('190.01'), step: 4 }],
    });
    // A repeated execution (a retried batch) is ignored.
    await store.save({ orders: [], executions: [execution({ price: new Decimal('1') })], prices: [] });

    const loaded = await store.load();
    expect(loaded.orders).toEqual([partially]);
    expect(loaded.executions).toEqual([execution()]);
    expect(loaded.prices).toEqual([{ symbol: 'AAPL', price: new Decimal('190.01'), step: 4 }]);
    expect(loaded.orders[0]!.limitPrice!.toFixed()).toBe('190.1234');
  });

  it('a batch is all or nothing: a fill for an unknown order saves none of its rows', async () => {
    await expect(
      store.save({
        orders: [simOrder({ id: 'o-2', clientOrderId: 'c-2', seq: 2 })],
        executions: [execution({ executionId: 'x-2', orderId: 'nope' })],
        prices: [{ symbol: 'MSFT', price: new Decimal('410'), step: 0 }],
      }),
    ).rejects.toThrow();
    const loaded = await store.load();
    expect(loaded.orders.map((o) => o.id)).toEqual(['o-1']);
    expect(loaded.prices.map((p) => p.symbol)).toEqual(['AAPL']);
  });

  it('two orders with one client_order_id (two replicas on one database) are both kept; no batch is poisoned', async () => {
    await store.save({ orders: [simOrder({ id: 'o-3', seq: 1 })], executions: [], prices: [] });
    expect((await store.load()).orders.map((o) => o.id)).toEqual(['o-1', 'o-3']);
  });
});
