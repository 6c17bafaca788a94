import type { BrokerClient, BrokerOrderRequest } from '../../../src/broker/broker-client.port';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { OrderSyncService } from '../../../src/orders/jobs/order-sync.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

const LIVE = { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1', BROKER_SUBMIT_TIMEOUT_MS: '500' };

describe('POST /api/v1/orders/{id}/cancel (e2e, sim)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;
  const status = async (id: string) =>
    ((await t.http.get(`/api/v1/orders/${id}`).set(auth)).body as { status: string }).status;
  const cancel = (id: string) => t.http.post(`/api/v1/orders/${id}/cancel`).set(auth);

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    t = await startTestApp({ env: LIVE, broker: sim });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A limit buy far below the reference price rests at the broker as `new`. */
  async function restingOrder(symbol: string): Promise<string> {
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol, side: 'buy', qty: 2, order_type: 'limit', limit_price: '1' });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('new');
    return res.body.client_order_id as string;
  }

  it('cancels a working order at the broker, then follows it to canceled', async () => {
    const id = await restingOrder('CXL');
    const res = await cancel(id);
    expect(res.status).toBe(200);
    expect(['pending_cancel', 'canceled']).toContain(res.body.status);
    expect(
      await eventually(
        () => status(id),
        (s) => s === 'canceled',
      ),
    ).toBe('canceled');
    const audit = await t.db.query('SELECT action, actor FROM audit_log WHERE client_order_id = $1 ORDER BY id', [id]);
    expect(audit).toEqual(
      expect.arrayContaining([
        { action: 'order.cancel_requested', actor: 'admin' },
        expect.objectContaining({ action: 'order.canceled' }),
      ]),
    );
  });

  it('is idempotent: a second cancel answers 200 with the status', async () => {
    const id = await restingOrder('CXL2');
    expect((await cancel(id)).status).toBe(200);
    await eventually(
      () => status(id),
      (s) => s === 'canceled',
    );
    const again = await cancel(id);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'canceled', message: expect.stringMatching(/already canceled/) });
  });

  it('leaves a filled order alone', async () => {
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'CXLF', side: 'buy', qty: 1 });
    const id = res.body.client_order_id as string;
    await eventually(
      () => status(id),
      (s) => s === 'filled',
    );
    const c = await cancel(id);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('filled');
  });

  it('cancels at the broker an order whose send was in flight when the cancel came', async () => {
    sim.dropStream();
    sim.failNext('unknown_outcome', 1, { acceptThenLose: true });
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'CXLU', side: 'buy', qty: 2, order_type: 'limit', limit_price: '1' });
    expect(res.body.status).toBe('submitted_unconfirmed');
    const id = res.body.client_order_id as string;
    const c = await cancel(id);
    expect([200, 202]).toContain(c.status);
    sim.restoreStream();
    await t.app.get(OrderSyncService).tick();
    expect(
      await eventually(
        () => status(id),
        (s) => s === 'canceled',
      ),
    ).toBe('canceled');
    const atBroker = (await sim.listOrders({ status: 'all', limit: 500 })).filter((o) => o.clientOrderId === id);
    expect(atBroker.map((o) => o.status)).toEqual(['canceled']);
  });

  it('answers 404 for an unknown order and 401 without a key', async () => {
    expect((await cancel('no-such-order')).status).toBe(404);
    expect((await t.http.post('/api/v1/orders/x/cancel')).status).toBe(401);
  });
});

/**
 * A cancel against a send in flight (src/orders/domain/send-window.ts): an
 * unsent order in a sender's hands is never cancelled locally, since its send
 * may land after the broker was asked; it is cancelled at the broker once the
 * send lands. Only an order in nobody's hands is cancelled locally, and then
 * never sent. The resolver runs only when a test ticks it here.
 */
describe('POST /api/v1/orders/{id}/cancel against a send in flight (e2e, sim)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;
  /** Submissions of these ids wait at the broker's door (`inFlight` resolved) until released. */
  const gates = new Map<string, Gate>();
  const status = async (id: string) =>
    ((await t.http.get(`/api/v1/orders/${id}`).set(auth)).body as { status: string }).status;
  const cancel = (id: string) => t.http.post(`/api/v1/orders/${id}/cancel`).set(auth);
  const atBroker = async (id: string) =>
    (await sim.listOrders({ status: 'all', limit: 500 })).filter((o) => o.clientOrderId === id).map((o) => o.status);

  interface Gate {
    inFlight: Promise<void>;
    enter: () => void;
    released: Promise<void>;
    release: () => void;
  }
  function gate(id: string): Gate {
    const g = {} as Gate;
    g.inFlight = new Promise<void>((r) => (g.enter = r));
    g.released = new Promise<void>((r) => (g.release = r));
    gates.set(id, g);
    return g;
  }

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    // The sim, with a submission of a gated id held (entered, then waiting for release) before it reaches the book.
    const broker = new Proxy(sim, {
      get(target, prop, receiver) {
        if (prop !== 'submitOrder') return Reflect.get(target, prop, receiver) as unknown;
        return async (req: BrokerOrderRequest, opts?: { timeoutMs?: number }) => {
          const g = gates.get(req.clientOrderId);
          if (g) {
            g.enter();
            await g.released;
          }
          return target.submitOrder(req, opts);
        };
      },
    }) as BrokerClient;
    t = await startTestApp({
      env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '3600', BROKER_SUBMIT_TIMEOUT_MS: '5000' },
      broker,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('cancels locally an order in nobody’s hands, and it is never sent', async () => {
    const id = 'cxl-never-sent';
    await t.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status,
                           created_at, updated_at)
       VALUES ($1, 'alpha_baseline', 'CXLN', 'buy', '1', 'market', 'day', 'pending_new',
               now() - interval '1 minute', now() - interval '1 minute')`,
      [id],
    );
    const c = await cancel(id);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('canceled');
    await t.app.get(OrderSyncService).tick();
    expect(sim.submissionCount(id)).toBe(0);
    expect(await status(id)).toBe('canceled');
  });

  /**
   * `send` starts a send of `id` that the gate holds at the broker's door; a cancel then answers 202 (the
   * order is being sent), and once the send lands the order is canceled at the broker: sent once, never
   * left working there.
   */
  async function cancelWhileSending(id: string, send: () => Promise<unknown>): Promise<void> {
    const g = gate(id);
    const sent = send();
    await g.inFlight;
    const c = await cancel(id);
    expect(c.status).toBe(202);
    expect(c.body).toMatchObject({ status: 'pending_new', message: expect.stringMatching(/being sent/) });
    g.release();
    await sent;
    expect(
      await eventually(
        () => status(id),
        (s) => s === 'canceled',
      ),
    ).toBe('canceled');
    expect(await atBroker(id)).toEqual(['canceled']);
    expect(sim.submissionCount(id)).toBe(1);
  }

  it('a cancel while the submission is on its way answers 202, and the order is canceled at the broker once it lands', async () => {
    const id = 'cxl-door-in-flight';
    await cancelWhileSending(id, async () => {
      const res = await t.http
        .post('/api/v1/orders')
        .set(auth)
        .send({ client_order_id: id, symbol: 'CXLD', side: 'buy', qty: 2, order_type: 'limit', limit_price: '1' });
      expect(res.status).toBe(201);
    });
  });

  it("a cancel while the resolver's send is on its way answers 202, and the order is canceled at the broker once it lands", async () => {
    const id = 'cxl-resolver-in-flight';
    await t.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, limit_price, time_in_force,
                           status, created_at, updated_at)
       VALUES ($1, 'alpha_baseline', 'CXLR', 'buy', '2', 'limit', '1', 'day', 'pending_new',
               now() - interval '1 minute', now() - interval '1 minute')`,
      [id],
    );
    await cancelWhileSending(id, () => t.app.get(OrderSyncService).tick());
  });
});
