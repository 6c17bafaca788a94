/**
 * Stream updates of one busy symbol are applied in batches
 * (src/orders/jobs/order-sync.service.ts): those that waited behind a running
 * batch go together in one unit of work. Each fill is still applied once, in
 * order per order, and the position and exposure counters come out as if
 * each had been applied alone.
 */
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { ApplyOrderUpdateUseCase, OrderUpdateReport } from '../../../src/orders/use-cases/apply-order-update.use-case';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

describe('fills of one symbol in batches (e2e, sim broker)', () => {
  let t: TestApp;
  const batches: number[] = [];

  beforeAll(async () => {
    t = await startTestApp({
      env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '3600', MAX_OPEN_ORDERS_PER_STRATEGY: '1000' },
      broker: new SimBrokerClient({ clock: new SystemClock() }),
    });
    const updates = t.app.get(ApplyOrderUpdateUseCase);
    const original = updates.applyMany.bind(updates);
    jest.spyOn(updates, 'applyMany').mockImplementation((reports: OrderUpdateReport[]) => {
      batches.push(reports.length);
      return original(reports);
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('60 market orders in one symbol, ten at a time: every fill applied once, the position exact, updates batched', async () => {
    // Six waves of ten at once: the fills of one wave's orders reach the stream while the previous wave's are applied.
    const answers = [];
    for (let wave = 0; wave < 6; wave++) {
      answers.push(
        ...(await Promise.all(
          Array.from({ length: 10 }, (_, j) => {
            const i = wave * 10 + j;
            return t.http
              .post('/api/v1/orders')
              .set(auth)
              .send({ symbol: 'BUSY', side: i % 3 === 2 ? 'sell' : 'buy', qty: 1 + (i % 4), idempotency_key: `b${i}` });
          }),
        )),
      );
    }
    expect(answers.filter((r) => r.status !== 201 && r.status !== 202).map((r) => r.body)).toEqual([]);
    const expected = Array.from({ length: 60 }, (_, i) => (i % 3 === 2 ? -1 : 1) * (1 + (i % 4))).reduce(
      (a, b) => a + b,
    );
    await eventually(
      async () =>
        (await t.db.query(`SELECT COUNT(*)::int AS n FROM orders WHERE symbol = 'BUSY' AND status = 'filled'`))[0]
          .n as number,
      (n) => n === 60,
      20_000,
    );
    const [position] = await t.db.query(`SELECT qty::text FROM positions WHERE symbol = 'BUSY'`);
    expect(position.qty).toBe(String(expected));
    const [fills] = await t.db.query(
      `SELECT COUNT(*)::int AS n, COUNT(DISTINCT client_order_id)::int AS orders FROM fills WHERE symbol = 'BUSY'`,
    );
    expect(fills).toEqual({ n: 60, orders: 60 });
    const [counters] = await t.db.query(
      `SELECT position_qty::text AS p, open_buy_qty::text AS b, open_sell_qty::text AS s FROM symbol_exposure WHERE symbol = 'BUSY'`,
    );
    expect(counters).toEqual({ p: String(expected), b: '0', s: '0' });
    // Updates that waited behind a running batch went together.
    expect(Math.max(...batches)).toBeGreaterThan(1);
  });
});
