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
import { brokerOrder } from '../../support/order-update.fixtures';
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

  it('one batch: a second report of an order applied to what the first left; events and audit rows in report order', async () => {
    // Three limit buys far below the price rest at the broker as `new`; the batch's reports are written here.
    const symbol = 'BATCHORD';
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.http
        .post('/api/v1/orders')
        .set(auth)
        .send({ symbol, side: 'buy', qty: 5, order_type: 'limit', limit_price: '1', idempotency_key: `bo${i}` });
      expect(res.status).toBe(201);
      ids.push(res.body.client_order_id as string);
    }
    const broker = new Map<string, string>();
    await eventually(
      async () =>
        (await t.db.query(`SELECT client_order_id, broker_order_id FROM orders WHERE client_order_id = ANY($1)`, [
          ids,
        ])) as Array<{ client_order_id: string; broker_order_id: string | null }>,
      (rows) => rows.every((r) => r.broker_order_id) && rows.length === 3,
      10_000,
    ).then((rows) => rows.forEach((r) => broker.set(r.client_order_id, r.broker_order_id as string)));
    const [a, b, c] = ids;
    const [{ events: eventsBefore, audit: auditBefore }] = await t.db.query(
      `SELECT (SELECT COALESCE(max(id), 0) FROM order_events)::bigint AS events,
              (SELECT COALESCE(max(id), 0) FROM audit_log)::bigint AS audit`,
    );
    const rep = (id: string, p: Parameters<typeof brokerOrder>[0]): OrderUpdateReport => ({
      source: 'stream',
      at: new Date(),
      order: brokerOrder({
        id: broker.get(id),
        clientOrderId: id,
        symbol,
        qty: '5',
        type: 'limit',
        limitPrice: '1',
        ...p,
      }),
    });

    const results = await t.app
      .get(ApplyOrderUpdateUseCase)
      .applyMany([
        rep(c, { status: 'partially_filled', filledQty: '2', filledAvgPrice: '1' }),
        rep(a, { status: 'canceled' }),
        rep(c, { status: 'filled', filledQty: '5', filledAvgPrice: '1.3' }),
        rep(b, { status: 'canceled' }),
        rep(c, { status: 'filled', filledQty: '5', filledAvgPrice: '1.3' }),
      ]);

    expect(results.map((r) => [r.outcome, r.status, r.fillsRecorded])).toEqual([
      ['applied', 'partially_filled', 1],
      ['applied', 'canceled', 0],
      ['applied', 'filled', 1],
      ['applied', 'canceled', 0],
      ['unchanged', 'filled', 0],
    ]);
    // The second fill is the 3 shares after the first 2 (decided against the order as first read, it would be 5).
    const fills = await t.db.query(
      `SELECT qty::text, price::text, cum_qty::text FROM fills WHERE client_order_id = $1 ORDER BY id`,
      [c],
    );
    expect(fills).toEqual([
      { qty: '2', price: '1', cum_qty: '2' },
      { qty: '3', price: '1.5', cum_qty: '5' },
    ]);
    const events = await t.db.query(
      `SELECT client_order_id AS id, event_type AS type, status, payload->>'filled_qty' AS filled
         FROM order_events e WHERE e.id > $1 AND client_order_id = ANY($2) ORDER BY e.id`,
      [eventsBefore, ids],
    );
    expect(events).toEqual([
      { id: c, type: 'order.fill', status: 'new', filled: '2' },
      { id: c, type: 'order.status', status: 'partially_filled', filled: '2' },
      { id: a, type: 'order.status', status: 'canceled', filled: '0' },
      { id: c, type: 'order.fill', status: 'partially_filled', filled: '5' },
      { id: c, type: 'order.status', status: 'filled', filled: '5' },
      { id: b, type: 'order.status', status: 'canceled', filled: '0' },
    ]);
    const audit = await t.db.query(
      `SELECT client_order_id AS id, action FROM audit_log l WHERE l.id > $1 AND client_order_id = ANY($2) ORDER BY l.id`,
      [auditBefore, ids],
    );
    expect(audit).toEqual([
      { id: c, action: 'order.partially_filled' },
      { id: a, action: 'order.canceled' },
      { id: c, action: 'order.filled' },
      { id: b, action: 'order.canceled' },
    ]);
    const [position] = await t.db.query(
      `SELECT qty::text, avg_entry_price::text AS avg FROM positions WHERE symbol = $1`,
      [symbol],
    );
    expect(position).toEqual({ qty: '5', avg: '1.3' });
    const [counters] = await t.db.query(
      `SELECT position_qty::text AS p, open_buy_qty::text AS b FROM symbol_exposure WHERE symbol = $1`,
      [symbol],
    );
    expect(counters).toEqual({ p: '5', b: '0' });
  });
});
