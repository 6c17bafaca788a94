import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { createKey } from '../../support/api-keys';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/** GET /orders/pending, /orders/recent-fills, /orders/{id} with fills, /orders/{id}/audit (docs/api.md). */
describe('order views (e2e, sim)', () => {
  let t: TestApp;
  let filledId: string;
  let restingAlpha: string;
  let restingBeta: string;
  const get = (path: string, as = auth) => t.http.get(`/api/v1${path}`).set(as);
  const submit = async (body: Record<string, unknown>): Promise<string> => {
    const res = await t.http.post('/api/v1/orders').set(auth).send(body);
    expect(res.status).toBe(201);
    return res.body.client_order_id as string;
  };

  beforeAll(async () => {
    t = await startTestApp({
      env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1' },
      broker: new SimBrokerClient({ clock: new SystemClock() }),
    });
    filledId = await submit({ symbol: 'VWF', side: 'buy', qty: 6, strategy_id: 'alpha' });
    await eventually(
      async () => (await get(`/orders/${filledId}`)).body.status,
      (s) => s === 'filled',
    );
    restingAlpha = await submit({
      symbol: 'VWR',
      side: 'buy',
      qty: 1,
      order_type: 'limit',
      limit_price: '1',
      strategy_id: 'alpha',
    });
    restingBeta = await submit({
      symbol: 'VWR',
      side: 'buy',
      qty: 2,
      order_type: 'limit',
      limit_price: '1',
      strategy_id: 'beta',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('GET /orders/pending lists every open order oldest first, with filters (not an order id)', async () => {
    const all = await get('/orders/pending');
    expect(all.status).toBe(200);
    expect(all.body.orders.map((o: { client_order_id: string }) => o.client_order_id)).toEqual([
      restingAlpha,
      restingBeta,
    ]);
    expect(all.body.total).toBe(2);
    expect(all.body.orders[0]).toMatchObject({ symbol: 'VWR', strategy_id: 'alpha', limit_price: '1', qty: 1 });
    expect((await get('/orders/pending?strategy_id=beta')).body).toMatchObject({
      total: 1,
      orders: [{ client_order_id: restingBeta }],
    });
    expect((await get('/orders/pending?symbol=vwf')).body).toEqual({ orders: [], total: 0 });
    expect((await get('/orders/pending?parent_order_id=nope')).body.total).toBe(0);
    expect((await get('/orders/pending?symbol=no%20good!')).status).toBe(422);
  });

  it('GET /orders/recent-fills answers the newest fills with decimal strings; limit is 1-500', async () => {
    const res = await get('/orders/recent-fills?symbol=VWF');
    expect(res.status).toBe(200);
    expect(res.body.total).toBeGreaterThanOrEqual(1);
    expect(res.body.fills[0]).toEqual({
      client_order_id: filledId,
      broker_order_id: expect.any(String),
      execution_id: expect.any(String),
      strategy_id: 'alpha',
      symbol: 'VWF',
      side: 'buy',
      qty: expect.stringMatching(/^\d+$/),
      price: expect.stringMatching(/^\d+(\.\d+)?$/),
      executed_at: expect.any(String),
    });
    expect((await get('/orders/recent-fills?limit=1')).body.fills).toHaveLength(1);
    for (const bad of ['0', '501', 'x']) {
      const r = await get(`/orders/recent-fills?limit=${bad}`);
      expect({ bad, status: r.status, field: r.body.details?.fields?.[0]?.field }).toEqual({
        bad,
        status: 422,
        field: 'limit',
      });
    }
  });

  it("GET /orders/{id} carries the order's fills; GET /orders/{id}/audit its audit rows", async () => {
    const detail = await get(`/orders/${filledId}`);
    expect(detail.body.fills.reduce((s: number, f: { qty: string }) => s + Number(f.qty), 0)).toBe(6);
    expect((await get(`/orders/${restingAlpha}`)).body.fills).toEqual([]);
    const audit = await get(`/orders/${filledId}/audit`);
    expect(audit.status).toBe(200);
    expect(audit.body.client_order_id).toBe(filledId);
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions[0]).toBe('order.accepted');
    expect(actions).toContain('order.filled');
    expect(audit.body.entries[0]).toMatchObject({
      actor: 'admin',
      occurred_at: expect.any(String),
      details: expect.any(Object),
    });
    expect((await get('/orders/no-such-order/audit')).status).toBe(404);
  });

  it("is scoped: a key sees only its strategies' orders and fills, and 404 for another's", async () => {
    const beta = await createKey(t, ['VIEW_ORDERS'], ['beta']);
    expect((await get('/orders/pending', beta.auth)).body).toMatchObject({
      total: 1,
      orders: [{ client_order_id: restingBeta }],
    });
    expect((await get('/orders/recent-fills', beta.auth)).body).toEqual({ fills: [], total: 0 });
    expect((await get(`/orders/${filledId}/audit`, beta.auth)).status).toBe(404);
    const noView = await createKey(t, ['SUBMIT_ORDER']);
    for (const path of ['/orders/pending', '/orders/recent-fills', `/orders/${filledId}/audit`]) {
      expect((await get(path, noView.auth)).status).toBe(403);
    }
  });
});
