/**
 * What left the sim's memory, read back from PostgreSQL
 * (docs/simulator.md#memory-and-retention): PgSimBookStore's lookups and
 * listings, the indexes they use, and a sim with a small memory bound on a
 * PostgreSQL book (dropped orders answered, duplicates refused, every fill listed).
 */
import { DataSource } from 'typeorm';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { PgSimBookStore } from '../../../src/broker/sim/sim-book.pg-store';
import type { SimExecution } from '../../../src/broker/sim/sim-exchange';
import type { SimOrder } from '../../../src/broker/sim/sim-order';
import type { BrokerError, BrokerFill } from '../../../src/broker/broker-client.port';
import { Decimal } from '../../../src/common/decimal';
import { ManualClock } from '../../../src/infra/clock/clock';
import { createDataSource } from '../../../src/infra/database/data-source';
import { createTestDatabase, TestDatabase } from '../../support/database';

const T0 = new Date('2026-01-05T15:00:00.000Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function simOrder(seq: number, over: Partial<SimOrder> = {}): SimOrder {
  return {
    seq,
    id: `o-${seq}`,
    clientOrderId: `c-${seq}`,
    symbol: 'AAPL',
    side: 'buy',
    type: 'market',
    timeInForce: 'day',
    qty: new Decimal('1'),
    limitPrice: null,
    stopPrice: null,
    trailPrice: null,
    trailPercent: null,
    hwm: null,
    status: 'filled',
    triggered: true,
    filledQty: new Decimal('1'),
    filledNotional: new Decimal('100'),
    createdAt: at(seq),
    updatedAt: at(seq),
    submittedAt: at(seq),
    filledAt: at(seq),
    canceledAt: null,
    orderClass: 'simple',
    legType: null,
    parentId: null,
    replaces: null,
    replacedBy: null,
    ...over,
  };
}

function fill(seq: number, orderId: string): SimExecution {
  return {
    seq,
    executionId: `x-${seq}`,
    orderId,
    symbol: 'AAPL',
    side: 'buy',
    qty: new Decimal('1'),
    price: new Decimal('100.25'),
    cumQty: new Decimal('1'),
    leavesQty: new Decimal('0'),
    positionQty: new Decimal(seq + 1),
    transactionTime: at(seq + 1),
  };
}

describe('PgSimBookStore: reads of what left the sim memory (integration)', () => {
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

  describe('the store', () => {
    const root = simOrder(1, { orderClass: 'bracket', type: 'limit', limitPrice: new Decimal('100') });
    const tp = simOrder(2, { parentId: 'o-1', legType: 'take_profit', orderClass: 'bracket', side: 'sell' });
    const sl = simOrder(3, { parentId: 'o-1', legType: 'stop_loss', orderClass: 'bracket', status: 'canceled' });
    const open = simOrder(4, { symbol: 'MSFT', status: 'new', filledQty: new Decimal(0), filledAt: null });
    const later = simOrder(5);

    beforeAll(async () => {
      await store.save({
        orders: [root, tp, sl, open, later],
        executions: [fill(0, 'o-1'), fill(1, 'o-2'), fill(2, 'o-5')],
        prices: [],
      });
    });

    it('finds an order by id or client order id, a top-level one with its legs, a leg alone', async () => {
      expect(await store.findOrder({ id: 'o-1' })).toEqual([root, tp, sl]);
      expect(await store.findOrder({ clientOrderId: 'c-1' })).toEqual([root, tp, sl]);
      expect(await store.findOrder({ id: 'o-3' })).toEqual([sl]);
      expect(await store.findOrder({ clientOrderId: 'c-5' })).toEqual([later]);
      expect(await store.findOrder({ id: 'nope' })).toEqual([]);
      expect(await store.findOrder({ clientOrderId: 'nope' })).toEqual([]);
    });

    it('lists top-level orders newest first, legs after their parent, by status, symbol, time bounds and limit', async () => {
      const ids = (rows: SimOrder[]) => rows.map((o) => o.id);
      const all = { status: 'all' as const, symbols: null, limit: 500 };
      expect(ids(await store.listOrders(all))).toEqual(['o-5', 'o-4', 'o-1', 'o-2', 'o-3']);
      expect(ids(await store.listOrders({ ...all, status: 'closed' }))).toEqual(['o-5', 'o-1', 'o-2', 'o-3']);
      expect(ids(await store.listOrders({ ...all, status: 'open' }))).toEqual(['o-4']);
      expect(ids(await store.listOrders({ ...all, symbols: ['AAPL'], limit: 1 }))).toEqual(['o-5']);
      expect(ids(await store.listOrders({ ...all, after: at(1), until: at(5) }))).toEqual(['o-4']);
    });

    it('lists fills after a sequence number, within time bounds, oldest first, and tells a fill sequence number', async () => {
      const ids = (rows: SimExecution[]) => rows.map((e) => e.executionId);
      expect(await store.listFills({ afterSeq: -1, limit: 10 })).toEqual([
        fill(0, 'o-1'),
        fill(1, 'o-2'),
        fill(2, 'o-5'),
      ]);
      expect(ids(await store.listFills({ afterSeq: 0, limit: 1 }))).toEqual(['x-1']);
      expect(ids(await store.listFills({ afterSeq: -1, after: at(1), until: at(3), limit: 10 }))).toEqual(['x-1']);
      expect(await store.fillSeq('x-2')).toBe(2);
      expect(await store.fillSeq('nope')).toBeNull();
    });

    it('reads by index: the client order id lookup and the fill pages do not scan the tables', async () => {
      const plan = async (query: string, values: unknown[]) => {
        const runner = ds.createQueryRunner();
        try {
          await runner.query('SET enable_seqscan = off');
          const rows = (await runner.query(`EXPLAIN ${query}`, values)) as Array<{ 'QUERY PLAN': string }>;
          return rows.map((r) => r['QUERY PLAN']).join('\n');
        } finally {
          await runner.query('RESET enable_seqscan');
          await runner.release();
        }
      };
      expect(await plan('SELECT id FROM sim_orders WHERE client_order_id = $1', ['c-1'])).toContain(
        'sim_orders_client_order_id_idx',
      );
      expect(await plan('SELECT id FROM sim_orders WHERE parent_id = ANY($1::text[])', [['o-1']])).toContain(
        'sim_orders_parent_id_idx',
      );
      expect(await plan('SELECT seq FROM sim_fills WHERE seq > $1 ORDER BY seq LIMIT 10', [0])).toContain(
        'sim_fills_seq_idx',
      );
    });
  });

  it('a sim with a small memory bound on this book answers dropped orders, refuses their ids, lists every fill', async () => {
    await ds.query('TRUNCATE sim_fills, sim_orders, sim_prices');
    const clock = new ManualClock(T0);
    const boot = async (generation: string) => {
      let n = 0;
      const sim = new SimBrokerClient({
        clock,
        referencePrices: { AAPL: '100' },
        idFactory: () => `${generation}-${++n}`,
        retainedEndedOrders: 10,
        retainedExecutions: 10,
      });
      await sim.restore(new PgSimBookStore(ds));
      return sim;
    };
    const request = (clientOrderId: string, side: 'buy' | 'sell') => ({
      clientOrderId,
      symbol: 'AAPL',
      side,
      qty: '1',
      type: 'market' as const,
      timeInForce: 'day' as const,
      limitPrice: null,
      stopPrice: null,
    });
    const allFills = async (sim: SimBrokerClient) => {
      const fills: BrokerFill[] = [];
      let pageToken: string | undefined;
      do {
        const page = await sim.listFills({ pageSize: 4, pageToken });
        fills.push(...page.fills);
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken !== undefined);
      return fills;
    };

    const a = await boot('a');
    for (let i = 0; i < 30; i++) {
      clock.advance(1000);
      await a.submitOrder(request(`k-${i}`, i % 2 === 0 ? 'buy' : 'sell'));
    }
    await a.settle();
    expect(a.memoryUse()).toMatchObject({ orders: 10, executions: 10, evictedOrders: 20, evictedExecutions: 20 });
    expect(await a.getOrderByClientOrderId('k-0')).toMatchObject({ id: 'a-1', status: 'filled', filledQty: '1' });
    expect(await a.getOrder('a-1')).toMatchObject({ clientOrderId: 'k-0' });
    const dup = await a.submitOrder(request('k-0', 'buy')).catch((e: BrokerError) => e);
    expect((dup as BrokerError).details.duplicateClientOrderId).toBe(true);
    const fills = await allFills(a);
    expect(fills).toHaveLength(30);
    expect(new Set(fills.map((f) => f.executionId)).size).toBe(30);
    expect((await a.listOrders({ status: 'closed', limit: 500 })).map((o) => o.clientOrderId)).toEqual(
      [...Array(30).keys()].map((i) => `k-${29 - i}`),
    );
    await a.close();

    const b = await boot('b');
    expect(b.memoryUse()).toMatchObject({ orders: 10, executions: 10 });
    expect(await allFills(b)).toEqual(fills);
    expect(await b.getOrderByClientOrderId('k-0')).toMatchObject({ id: 'a-1', status: 'filled' });
    await b.close();
  });
});
