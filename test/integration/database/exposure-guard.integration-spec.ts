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
});
