/**
 * The guarded insert (migration 1765700000000, OrderRepository.insertWithAudit
 * with a guard): the insert's trigger counts the order on its symbol's row and
 * checks the guard there. It must agree with the pure guardAdmits on every
 * counter state; past the guard the statement fails with EG002 and writes
 * nothing (no order, no audit row, the counters as they were); within it the
 * order, its audit row and its count are written, and its strategy's slot is
 * still held to the limit at commit (EG001).
 */
import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { createDataSource } from '../../../src/infra/database/data-source';
import { isGuardError } from '../../../src/orders/persistence/order-insert';
import { OrderRepository } from '../../../src/orders/persistence/order.repository';
import { strategyLimitError } from '../../../src/orders/persistence/exposure.repository';
import { ExposureGuard, exposureWith, guardAdmits, guardSetting } from '../../../src/risk/pipeline/pre-trade-checks';
import { buildNewOrder, NewOrder } from '../../../src/trading/order';
import { createTestDatabase, TestDatabase } from '../../support/database';

const AT = new Date('2026-03-02T15:00:00Z');
let seq = 0;

function order(side: 'buy' | 'sell', qty: number): NewOrder {
  seq += 1;
  return buildNewOrder(
    {
      symbol: 'XYZ',
      side,
      qty: String(qty),
      orderType: 'market',
      timeInForce: 'day',
      limitPrice: null,
      stopPrice: null,
      clientOrderId: `g-${seq}`,
    },
    { strategyId: 'S', status: 'pending_new' },
    AT,
  );
}

const audit = { action: 'order.accepted', actor: 'test', details: {} };

describe('guarded order insert (integration)', () => {
  let database: TestDatabase;
  let ds: DataSource;
  let orders: OrderRepository;

  beforeAll(async () => {
    database = await createTestDatabase();
    ds = createDataSource({ url: database.url, poolSize: 2 });
    await ds.initialize();
    orders = new OrderRepository(ds);
  });

  afterAll(async () => {
    await ds.destroy();
    await database.drop();
  });

  async function setCounters(position: number, openBuy: number, openSell: number): Promise<void> {
    await ds.query(
      `INSERT INTO symbol_exposure (symbol, position_qty, open_buy_qty, open_sell_qty) VALUES ('XYZ', $1, $2, $3)
       ON CONFLICT (symbol) DO UPDATE SET position_qty = $1, open_buy_qty = $2, open_sell_qty = $3`,
      [position, openBuy, openSell],
    );
    await ds.query(`DELETE FROM strategy_exposure`);
  }

  async function counters(): Promise<{ position: string; buy: string; sell: string }> {
    const rows: { position: string; buy: string; sell: string }[] = await ds.query(
      `SELECT position_qty::text AS position, open_buy_qty::text AS buy, open_sell_qty::text AS sell
         FROM symbol_exposure WHERE symbol = 'XYZ'`,
    );
    return rows[0];
  }

  async function written(id: string): Promise<{ orders: number; audits: number }> {
    const rows: { orders: number; audits: number }[] = await ds.query(
      `SELECT (SELECT COUNT(*)::int FROM orders WHERE client_order_id = $1) AS orders,
              (SELECT COUNT(*)::int FROM audit_log WHERE client_order_id = $1) AS audits`,
      [id],
    );
    return rows[0];
  }

  it('agrees with guardAdmits on every counter state, and writes nothing past the guard', async () => {
    let refused = 0;
    let admitted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('buy' as const, 'sell' as const),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: -20, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 30 }),
        fc.option(fc.constantFrom('10', '12.5'), { nil: null }),
        fc.constantFrom('100', '250', '1000'),
        async (side, qty, position, openBuy, openSell, maxSize, price, limitValue) => {
          await setCounters(position, openBuy, openSell);
          const guard: ExposureGuard = {
            maxSize: String(maxSize),
            price,
            limitValue: price === null ? null : limitValue,
          };
          const o = order(side, qty);
          const expected = guardAdmits(
            guard,
            o,
            exposureWith(o, {
              positionQty: String(position),
              openBuyQty: String(openBuy),
              openSellQty: String(openSell),
              strategyOpenOrders: 0,
            }),
          );
          const result = await orders
            .insertWithAudit(o, audit, undefined, { guard: guardSetting(guard), maxOpenOrders: 1000 })
            .then(
              (r) => ({ ok: r.created }),
              (err: unknown) => ({ ok: false, guard: isGuardError(err) }),
            );
          if (expected) {
            admitted += 1;
            expect(result).toEqual({ ok: true });
            expect(await written(o.clientOrderId)).toEqual({ orders: 1, audits: 1 });
            const after = await counters();
            expect(Number(side === 'buy' ? after.buy : after.sell)).toBe((side === 'buy' ? openBuy : openSell) + qty);
          } else {
            refused += 1;
            expect(result).toEqual({ ok: false, guard: true });
            expect(await written(o.clientOrderId)).toEqual({ orders: 0, audits: 0 });
            expect(await counters()).toEqual({
              position: String(position),
              buy: String(openBuy),
              sell: String(openSell),
            });
          }
        },
      ),
      { numRuns: 100 },
    );
    // Both outcomes were exercised.
    expect(admitted).toBeGreaterThan(5);
    expect(refused).toBeGreaterThan(5);
  });

  it("holds the strategy's open orders to the limit at commit (EG001), writing nothing", async () => {
    await setCounters(0, 0, 0);
    const guard = guardSetting({ maxSize: '1000', price: null, limitValue: null });
    const first = order('buy', 1);
    await orders.insertWithAudit(first, audit, undefined, { guard, maxOpenOrders: 1 });
    const second = order('buy', 1);
    const err = await orders.insertWithAudit(second, audit, undefined, { guard, maxOpenOrders: 1 }).catch((e) => e);
    expect(strategyLimitError(err)).toEqual({ openOrders: 1 });
    expect(await written(second.clientOrderId)).toEqual({ orders: 0, audits: 0 });
    expect((await counters()).buy).toBe('1');
  });

  it('sets the guard for its own statement only: a later unguarded insert on the connection is not held to it', async () => {
    await setCounters(0, 0, 0);
    const tight = guardSetting({ maxSize: '1', price: null, limitValue: null });
    await orders.insertWithAudit(order('buy', 1), audit, undefined, { guard: tight, maxOpenOrders: 1000 });
    // Past the guard now, but an unguarded insert (reconciliation adopting an order, say) is never refused by it.
    const plain = order('buy', 5);
    expect((await orders.insertWithAudit(plain, audit)).created).toBe(true);
    expect((await counters()).buy).toBe('6');
  });

  describe('several orders in one statement (insertGuardedMany, migration 1765800000000)', () => {
    type Entry = { order: NewOrder; audit: typeof audit; guard: string };
    const entry = (o: NewOrder, guard: ExposureGuard): Entry => ({ order: o, audit, guard: guardSetting(guard) });

    it('agrees with the same orders inserted one by one, in order: all written, or none and EG002', async () => {
      let batches = 0;
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              side: fc.constantFrom('buy' as const, 'sell' as const),
              qty: fc.integer({ min: 1, max: 8 }),
              maxSize: fc.integer({ min: 5, max: 40 }),
              price: fc.option(fc.constantFrom('10', '12.5'), { nil: null }),
            }),
            { minLength: 2, maxLength: 6 },
          ),
          fc.integer({ min: -10, max: 10 }),
          async (specs, position) => {
            const entries = specs.map((x) =>
              entry(order(x.side, x.qty), {
                maxSize: String(x.maxSize),
                price: x.price,
                limitValue: x.price === null ? null : '300',
              }),
            );
            // What one-by-one inserts would do: each judged after the ones before it were counted.
            await setCounters(position, 0, 0);
            let expectAll = true;
            let buy = 0;
            let sell = 0;
            for (const e of entries) {
              const guard = e.guard.split('|');
              const admits = guardAdmits(
                { maxSize: guard[0], price: guard[1] || null, limitValue: guard[2] || null },
                e.order,
                exposureWith(e.order, {
                  positionQty: String(position),
                  openBuyQty: String(buy),
                  openSellQty: String(sell),
                  strategyOpenOrders: 0,
                }),
              );
              if (!admits) expectAll = false;
              if (e.order.side === 'buy') buy += Number(e.order.qty);
              else sell += Number(e.order.qty);
            }
            const result = await orders.insertGuardedMany(entries, 1000).then(
              (m) => ({ written: m.size }),
              (err: unknown) => ({ guard: isGuardError(err) }),
            );
            batches += 1;
            if (expectAll) {
              expect(result).toEqual({ written: entries.length });
              for (const e of entries) expect(await written(e.order.clientOrderId)).toEqual({ orders: 1, audits: 1 });
              expect(await counters()).toEqual({ position: String(position), buy: String(buy), sell: String(sell) });
            } else {
              refused += 1;
              expect(result).toEqual({ guard: true });
              for (const e of entries) expect(await written(e.order.clientOrderId)).toEqual({ orders: 0, audits: 0 });
              expect(await counters()).toEqual({ position: String(position), buy: '0', sell: '0' });
            }
          },
        ),
        { numRuns: 60 },
      );
      expect(refused).toBeGreaterThan(3);
      expect(batches - refused).toBeGreaterThan(3);
    });

    it('writes each order as its own insert would, in the order given, and skips an id already taken', async () => {
      await setCounters(0, 0, 0);
      const wide = { maxSize: '1000', price: null, limitValue: null };
      const taken = order('buy', 1);
      await orders.insertWithAudit(taken, audit);
      const a = order('buy', 2);
      const b = { ...order('sell', 3), limitPrice: '101.5', orderType: 'limit' as const, metadata: { note: 'x"y' } };
      const got = await orders.insertGuardedMany([entry(a, wide), entry(taken, wide), entry(b, wide)], 1000);
      expect([...got.keys()]).toEqual(expect.arrayContaining([a.clientOrderId, b.clientOrderId]));
      expect(got.size).toBe(2);
      const read = await orders.findByClientOrderId(b.clientOrderId);
      expect(got.get(b.clientOrderId)).toEqual(read);
      expect(read).toMatchObject({
        side: 'sell',
        qty: '3',
        limitPrice: '101.5',
        metadata: { note: 'x"y' },
        createdAt: AT,
      });
      const inOrder: { id: string }[] = await ds.query(
        'SELECT client_order_id AS id FROM orders WHERE client_order_id = ANY($1) ORDER BY seq',
        [[b.clientOrderId, a.clientOrderId]],
      );
      expect(inOrder.map((r) => r.id)).toEqual([a.clientOrderId, b.clientOrderId]);
      expect(await written(taken.clientOrderId)).toEqual({ orders: 1, audits: 1 });
      expect(await counters()).toEqual({ position: '0', buy: '3', sell: '3' });
    });

    it("holds the strategy's open orders to the limit at commit (EG001): the whole statement, nothing written", async () => {
      await setCounters(0, 0, 0);
      const wide = { maxSize: '1000', price: null, limitValue: null };
      const three = [order('buy', 1), order('buy', 1), order('buy', 1)];
      const err = await orders
        .insertGuardedMany(
          three.map((o) => entry(o, wide)),
          2,
        )
        .catch((e: unknown) => e);
      expect(strategyLimitError(err)).toEqual({ openOrders: 2 });
      for (const o of three) expect(await written(o.clientOrderId)).toEqual({ orders: 0, audits: 0 });
      expect((await counters()).buy).toBe('0');
    });
  });
});
