import { BrokerClient } from '../../../src/broker/broker-client.port';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { OrderSyncService } from '../../../src/orders/jobs/order-sync.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/**
 * DRY_RUN=false against the in-process sim exchange: write-ahead, then the
 * broker; ambiguous answers resolved by client_order_id, never a second order.
 */
const LIVE = { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1', BROKER_SUBMIT_TIMEOUT_MS: '500' };

async function brokerOrders(broker: BrokerClient, clientOrderId: string): Promise<number> {
  const all = await broker.listOrders({ status: 'all', limit: 500 });
  return all.filter((o) => o.clientOrderId === clientOrderId).length;
}

describe('order submission with a broker (e2e, sim)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;
  const order = async (id: string) =>
    (await t.http.get(`/api/v1/orders/${id}`).set(auth)).body as {
      status: string;
      filled_qty: string;
      retry_count: number;
    };

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    t = await startTestApp({ env: LIVE, broker: sim });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('writes ahead, submits once and follows the order to its fill', async () => {
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'SUB', side: 'buy', qty: 5 });
    expect(res.status).toBe(201);
    expect(['new', 'filled', 'submitted']).toContain(res.body.status);
    const id = res.body.client_order_id as string;
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    expect(final).toMatchObject({ status: 'filled', filled_qty: '5' });
    expect(await brokerOrders(sim, id)).toBe(1);
    const audit = await t.db.query('SELECT action FROM audit_log WHERE client_order_id = $1 ORDER BY id', [id]);
    expect(audit.map((a: { action: string }) => a.action)).toEqual(
      expect.arrayContaining(['order.accepted', 'order.acknowledged', 'order.filled']),
    );
  });

  it('reports the broker stream of the leader in /health (details with a key)', async () => {
    const health = await eventually(
      async () => (await t.http.get('/health').set(auth)).body,
      (b) => b.info?.broker_stream?.state === 'connected',
    );
    expect(health.status).toBe('ok');
    expect(health.info.broker_stream).toMatchObject({ status: 'up', broker: 'sim', leader: true, state: 'connected' });
  });

  it('sends one broker order for 100 concurrent identical requests', async () => {
    const body = { symbol: 'CONC', side: 'buy', qty: 3 };
    const results = await Promise.all(
      Array.from({ length: 100 }, () => t.http.post('/api/v1/orders').set(auth).send(body)),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(99);
    const id = results[0].body.client_order_id as string;
    expect(new Set(results.map((r) => r.body.client_order_id))).toEqual(new Set([id]));
    expect(sim.submissionCount(id)).toBe(1);
  });

  it('answers 202 when the broker answer is lost, then adopts the order it finds by id', async () => {
    // No stream news either, so only the lookup by client_order_id can resolve it.
    sim.dropStream();
    sim.failNext('unknown_outcome', 1, { acceptThenLose: true });
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'LOST', side: 'buy', qty: 2 });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('submitted_unconfirmed');
    const id = res.body.client_order_id as string;
    await t.app.get(OrderSyncService).tick();
    expect((await order(id)).status).not.toBe('submitted_unconfirmed');
    sim.restoreStream();
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    expect(final.status).toBe('filled');
    expect(await brokerOrders(sim, id)).toBe(1);
  });

  it('answers 202 pending_new on a 429 and sends again, with the same id, after the retry time', async () => {
    sim.failNext('retryable', 1, { retryAfterMs: 50 });
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RATE', side: 'buy', qty: 2 });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending_new');
    const id = res.body.client_order_id as string;
    await new Promise((r) => setTimeout(r, 80));
    await t.app.get(OrderSyncService).tick();
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    expect(final).toMatchObject({ status: 'filled', retry_count: 1 });
    expect(await brokerOrders(sim, id)).toBe(1);
  });

  it("records the broker's definitive rejection", async () => {
    sim.failNext('rejected', 1, { message: 'insufficient buying power' });
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'REJ', side: 'buy', qty: 2 });
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('rejected');
    expect(res.body.message).toMatch(/insufficient buying power/);
    const audit = await t.db.query(
      `SELECT reason_code FROM audit_log WHERE client_order_id = $1 AND action = 'order.rejected'`,
      [res.body.client_order_id],
    );
    expect(audit).toEqual([{ reason_code: 'BROKER_REJECTED' }]);
  });

  it('finishes an order a crash left between insert and submit', async () => {
    const id = 'crashed-before-submit';
    await t.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status, created_at, updated_at)
       VALUES ($1, 'alpha_baseline', 'CRSH', 'buy', '4', 'market', 'day', 'pending_new', now() - interval '1 minute', now() - interval '1 minute')`,
      [id],
    );
    await t.app.get(OrderSyncService).tick();
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    expect(final.status).toBe('filled');
    expect(sim.submissionCount(id)).toBe(1);
    await t.app.get(OrderSyncService).tick();
    expect(sim.submissionCount(id)).toBe(1);
  });
});

describe('polling open orders (e2e, sim)', () => {
  it('gives every open order its turn, more than one batch of them', async () => {
    const sim = new SimBrokerClient({ clock: new SystemClock() });
    const asked = new Set<string>();
    const lookup = sim.getOrderByClientOrderId.bind(sim);
    sim.getOrderByClientOrderId = async (id: string) => {
      asked.add(id);
      return lookup(id);
    };
    const t = await startTestApp({ env: LIVE, broker: sim });
    try {
      const ids = Array.from({ length: 130 }, (_, i) => `poll-${String(i).padStart(3, '0')}`);
      await t.db.query(
        `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status, updated_at)
         SELECT id, 'alpha_baseline', 'POLL', 'buy', '1', 'market', 'day', 'new', now() - interval '1 minute'
           FROM unnest($1::text[]) AS id`,
        [ids],
      );
      const sync = t.app.get(OrderSyncService);
      await sync.tick();
      await sync.tick();
      expect(ids.filter((id) => !asked.has(id))).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('two replicas with brokers of their own (e2e, sim)', () => {
  it('still send one broker order for concurrent identical requests spread over both', async () => {
    const simA = new SimBrokerClient({ clock: new SystemClock() });
    const simB = new SimBrokerClient({ clock: new SystemClock() });
    const a = await startTestApp({ env: LIVE, broker: simA });
    const b = await startTestApp({ env: LIVE, broker: simB, database: a.database });
    try {
      const body = { symbol: 'REPL', side: 'sell', qty: 1 };
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).http.post('/api/v1/orders').set(auth).send(body)),
      );
      const id = results[0].body.client_order_id as string;
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(simA.submissionCount(id) + simB.submissionCount(id)).toBe(1);
    } finally {
      await b.close();
      await a.close();
    }
  });
});
