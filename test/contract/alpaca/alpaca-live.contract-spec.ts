/**
 * The live path end to end: DRY_RUN=false, the real Alpaca adapter on the real
 * SDK, talking REST and the trade_updates stream to the fake Alpaca server.
 * Write-ahead, one broker order per client_order_id whatever goes wrong on the
 * wire, fills applied once per execution.
 */
import Decimal from 'decimal.js';
import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { OrderSyncService } from '../../../src/orders/jobs/order-sync.service';
import { signWebhook } from '../../../src/webhooks/webhook-signature';
import { FakeAlpacaServer, type WireOrder } from '../../support/fake-alpaca/fake-alpaca.server';
import { auth, startTestApp, TestApp } from '../../support/app';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

const SECRET = 'live-webhook-secret-0123456789';
const LIVE = {
  DRY_RUN: 'false',
  ORDER_POLL_INTERVAL_SECONDS: '1',
  BROKER_SUBMIT_TIMEOUT_MS: '800',
  WEBHOOK_SECRET: SECRET,
};

interface OrderBody {
  client_order_id: string;
  status: string;
  filled_qty: string;
  filled_avg_price: string | null;
  broker_order_id: string | null;
  retry_count: number;
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

jest.setTimeout(15_000);

describe('live path: real Alpaca adapter against the fake Alpaca (e2e)', () => {
  const fake = new FakeAlpacaServer();
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;

  const order = async (id: string) => (await t.http.get(`/api/v1/orders/${id}`).set(auth)).body as OrderBody;
  const submit = (body: Record<string, unknown>) => t.http.post('/api/v1/orders').set(auth).send(body);
  const atBroker = (id: string): WireOrder[] => fake.orders().filter((o) => o.client_order_id === id);
  const fills = async (id: string) =>
    (await t.db.query(`SELECT execution_id, qty, price FROM fills WHERE client_order_id = $1 ORDER BY id`, [
      id,
    ])) as Array<{
      execution_id: string;
      qty: string;
      price: string;
    }>;
  const sumQty = (rows: Array<{ qty: string }>) => rows.reduce((s, r) => s.plus(r.qty), new Decimal(0)).toFixed();
  /** A sync pass that really ran: tick() skips when the timer's pass is still running. */
  const syncPass = async () => {
    const sync = t.app.get(OrderSyncService);
    await sync.tick();
    await sleep(20);
    await sync.tick();
  };

  beforeAll(async () => {
    await fake.start();
    alpaca = alpacaClientOf(fake, { submitTimeoutMs: 800, requestTimeoutMs: 2000 });
    t = await startTestApp({ env: LIVE, broker: alpaca });
    // The leader's stream consumer must be listening before any order goes out.
    const deadline = Date.now() + 5_000;
    while (fake.streamStats().listens < 1 && Date.now() < deadline) await sleep(20);
    expect(fake.streamStats().listens).toBeGreaterThanOrEqual(1);
  });

  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    await fake.stop();
  });

  afterEach(() => {
    fake.unsilenceStream();
    fake.delayResponse(0);
    expect(fake.internalErrors()).toEqual([]);
  });

  it('sends a market order once and follows the stream to its fill, decimals as strings', async () => {
    fake.setPrice('LIVA', '123.45');
    fake.setFillBehaviour({ mode: 'instant' }, 'LIVA');
    const res = await submit({ symbol: 'LIVA', side: 'buy', qty: 3 });
    expect(res.status).toBe(201);
    const id = res.body.client_order_id as string;
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    expect(final).toMatchObject({ status: 'filled', filled_qty: '3', filled_avg_price: '123.45' });
    expect(final.broker_order_id).toBe(atBroker(id)[0]?.id);
    expect(fake.postOrderCount(id)).toBe(1);
    expect(atBroker(id)).toHaveLength(1);
    const positions = await eventually(
      async () =>
        (await t.http.get('/api/v1/positions').set(auth)).body as { positions: Array<Record<string, unknown>> },
      (b) => b.positions?.some((p) => p.symbol === 'LIVA') ?? false,
    );
    expect(positions.positions.find((p) => p.symbol === 'LIVA')).toMatchObject({
      qty: '3',
      avg_entry_price: '123.45',
    });
  });

  it('sends one broker order for 100 concurrent identical requests', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, () => submit({ symbol: 'LIVC', side: 'buy', qty: 7 })),
    );
    const id = results[0].body.client_order_id as string;
    expect(new Set(results.map((r) => r.body.client_order_id))).toEqual(new Set([id]));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(99);
    expect(fake.postOrderCount(id)).toBe(1);
    expect(atBroker(id)).toHaveLength(1);
  });

  it('answers 202 when the answer is lost after the broker accepted, then adopts the one order', async () => {
    // No stream news either (else the broker's `new` event may confirm it first): only the lookup can resolve it.
    fake.silenceStream();
    fake.dropResponseAfterAccept(1);
    const res = await submit({ symbol: 'LIVL', side: 'buy', qty: 2, order_type: 'limit', limit_price: '1' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('submitted_unconfirmed');
    const id = res.body.client_order_id as string;
    await syncPass();
    const resolved = await eventually(
      () => order(id),
      (o) => o.status !== 'submitted_unconfirmed' && o.broker_order_id !== null,
      3_000,
    );
    fake.unsilenceStream();
    expect(resolved.status).toBe('new');
    expect(resolved.broker_order_id).toBe(atBroker(id)[0]?.id);
    expect(fake.requests('GET /v2/orders:by_client_order_id').some((r) => r.query.client_order_id === id)).toBe(true);
    expect(fake.postOrderCount(id)).toBe(1);
    expect(atBroker(id)).toHaveLength(1);
  });

  it('answers 202 on a 5xx the broker did not act on, looks it up, then sends the same id again', async () => {
    fake.failNext('POST /v2/orders', 1, { status: 503 });
    const res = await submit({ symbol: 'LIV5', side: 'buy', qty: 2, order_type: 'limit', limit_price: '1' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('submitted_unconfirmed');
    const id = res.body.client_order_id as string;
    await syncPass();
    // Looked up (404), not sent again yet: the resend waits RESEND_UNCONFIRMED_AFTER_MS (10 s, a constant).
    expect(fake.requests('GET /v2/orders:by_client_order_id').some((r) => r.query.client_order_id === id)).toBe(true);
    expect((await order(id)).status).toBe('submitted_unconfirmed');
    expect(fake.postOrderCount(id)).toBe(1);
    expect(atBroker(id)).toHaveLength(0);
    // Age the row past the resend window instead of sleeping 10 s.
    await t.db.query(`UPDATE orders SET updated_at = updated_at - interval '11 seconds' WHERE client_order_id = $1`, [
      id,
    ]);
    await syncPass();
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'new',
      3_000,
    );
    expect(final.status).toBe('new');
    expect(fake.postOrderCount(id)).toBe(2);
    expect(
      fake.requests('POST /v2/orders').filter((r) => (r.body as { client_order_id?: string }).client_order_id === id),
    ).toHaveLength(2);
    expect(atBroker(id)).toHaveLength(1);
    expect(final.broker_order_id).toBe(atBroker(id)[0].id);
  });

  it('answers 202 pending_new on a 429 and sends again with the same id after Retry-After', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'LIVR');
    fake.failNext('POST /v2/orders', 1, { status: 429, retryAfterSeconds: 1 });
    const res = await submit({ symbol: 'LIVR', side: 'buy', qty: 2 });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending_new');
    const id = res.body.client_order_id as string;
    expect(fake.postOrderCount(id)).toBe(1);
    await sleep(1_100);
    await syncPass();
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
      3_000,
    );
    expect(final.status).toBe('filled');
    expect(final.retry_count).toBe(1);
    expect(fake.postOrderCount(id)).toBe(2);
    expect(atBroker(id)).toHaveLength(1);
  });

  it('applies partial fills step by step: one fills row per execution, exact average', async () => {
    const steps = 4;
    fake.setPrice('LIVP', '187.1234');
    fake.setFillBehaviour({ mode: 'partial', steps, stepDelayMs: 30 }, 'LIVP');
    const res = await submit({ symbol: 'LIVP', side: 'buy', qty: 10 });
    expect(res.status).toBe(201);
    const id = res.body.client_order_id as string;
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    expect(final).toMatchObject({ status: 'filled', filled_qty: '10', filled_avg_price: '187.1234' });
    const rows = await eventually(
      () => fills(id),
      (r) => r.length >= steps,
    );
    expect(rows).toHaveLength(steps);
    expect(new Set(rows.map((r) => r.execution_id)).size).toBe(steps);
    const execIds = fake
      .events()
      .filter((e) => e.order.client_order_id === id && e.execution_id)
      .map((e) => e.execution_id);
    expect(rows.map((r) => r.execution_id).sort()).toEqual([...execIds].sort());
    expect(sumQty(rows)).toBe('10');
    expect(rows.every((r) => new Decimal(r.price).eq('187.1234'))).toBe(true);
  });

  it('ignores replayed stream events: no extra fills, status unchanged', async () => {
    fake.setFillBehaviour({ mode: 'partial', steps: 3 }, 'LIVY');
    const res = await submit({ symbol: 'LIVY', side: 'sell', qty: 6 });
    const id = res.body.client_order_id as string;
    await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    const before = await eventually(
      () => fills(id),
      (r) => r.length >= 3,
    );
    expect(before).toHaveLength(3);
    const audit = async () =>
      Number((await t.db.query('SELECT count(*) AS n FROM audit_log WHERE client_order_id = $1', [id]))[0].n as string);
    const auditBefore = await audit();
    fake.replayLastEvents(4); // new + 2 partial_fills + fill
    await sleep(600);
    expect(await fills(id)).toEqual(before);
    expect(await order(id)).toMatchObject({ status: 'filled', filled_qty: '6' });
    expect(await audit()).toBe(auditBefore);
  });

  it('never moves an order back to new when a fill arrives before the new event', async () => {
    fake.setFillBehaviour({ mode: 'manual' }, 'LIVO');
    // The gateway learns nothing at submit: the answer is lost and the broker's own `new` event too.
    fake.silenceStream();
    fake.dropResponseAfterAccept(1);
    const res = await submit({ symbol: 'LIVO', side: 'buy', qty: 4, order_type: 'limit', limit_price: '1' });
    expect(res.status).toBe(202);
    const id = res.body.client_order_id as string;
    await fake.whenIdle();
    fake.unsilenceStream();
    const brokerOrder = atBroker(id)[0];
    const newSnapshot = structuredClone(brokerOrder);
    // The partial fill is sent first, the (late) `new` event after it.
    fake.fill(brokerOrder.id, '1', '0.95');
    fake.emitEvent({ event: 'new', order: newSnapshot, timestamp: new Date().toISOString() });
    const partial = await eventually(
      () => order(id),
      (o) => o.status === 'partially_filled',
    );
    expect(partial).toMatchObject({ status: 'partially_filled', filled_qty: '1' });
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      await sleep(50);
      seen.add((await order(id)).status);
    }
    expect(seen).toEqual(new Set(['partially_filled']));
    // The rest fills; the late `new` delivered once more changes nothing.
    fake.fill(brokerOrder.id, '3', '0.95');
    fake.emitEvent({ event: 'new', order: newSnapshot, timestamp: new Date().toISOString() });
    await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    await sleep(300);
    expect(await order(id)).toMatchObject({ status: 'filled', filled_qty: '4', filled_avg_price: '0.95' });
    expect(await fills(id)).toHaveLength(2);
    expect(fake.postOrderCount(id)).toBe(1);
  });

  it('a cancel racing a fill ends in the status the broker reached, filled_qty matching the fills', async () => {
    fake.setFillBehaviour({ mode: 'manual' }, 'LIVX');
    const res = await submit({ symbol: 'LIVX', side: 'buy', qty: 5, order_type: 'limit', limit_price: '1' });
    expect(res.status).toBe(201);
    const id = res.body.client_order_id as string;
    await fake.whenIdle();
    const brokerOrder = atBroker(id)[0];
    // The DELETE reaches the broker after the fill: the cancel loses the race.
    fake.delayResponse(300, { route: 'DELETE /v2/orders/:id', count: 1, before: true });
    const cancel = t.http
      .post(`/api/v1/orders/${id}/cancel`)
      .set(auth)
      .then((r) => r);
    const deadline = Date.now() + 3_000;
    while (fake.requests('DELETE /v2/orders/:id').length === 0 && Date.now() < deadline) await sleep(5);
    expect(fake.requests('DELETE /v2/orders/:id')).toHaveLength(1);
    fake.fill(brokerOrder.id, '5', '0.9');
    const c = await cancel;
    expect([200, 202, 409]).toContain(c.status);
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    expect(['filled', 'canceled']).toContain(final.status);
    expect(final.status).toBe(fake.order(brokerOrder.id)?.status); // the broker's truth: filled
    const rows = await fills(id);
    expect(sumQty(rows)).toBe(new Decimal(final.filled_qty).toFixed());
    expect(final.filled_qty).toBe('5');
    expect(atBroker(id)).toHaveLength(1);
  });

  it('applies a signed webhook trade update once however often it is delivered', async () => {
    fake.setFillBehaviour({ mode: 'manual' }, 'LIVW');
    const res = await submit({ symbol: 'LIVW', side: 'buy', qty: 2, order_type: 'limit', limit_price: '1' });
    const id = res.body.client_order_id as string;
    await fake.whenIdle();
    fake.fill(atBroker(id)[0].id, '2', '0.8');
    const update = fake.events().find((e) => e.order.client_order_id === id && e.event === 'fill');
    expect(update).toBeDefined();
    const body = JSON.stringify(update);
    const post = () =>
      t.http
        .post('/api/v1/webhooks/orders')
        .set('Content-Type', 'application/json')
        .set('X-Alpaca-Signature', signWebhook(body, SECRET))
        .send(body);
    const first = await post();
    const second = await post();
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body.outcome).toBe('unchanged');
    const final = await eventually(
      () => order(id),
      (o) => o.status === 'filled',
    );
    expect(final).toMatchObject({ status: 'filled', filled_qty: '2', filled_avg_price: '0.8' });
    await sleep(200);
    const rows = await fills(id);
    expect(rows).toEqual([{ execution_id: update!.execution_id, qty: '2', price: '0.8' }]);
  });
});
