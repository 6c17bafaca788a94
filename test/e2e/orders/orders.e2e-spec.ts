import { auth, startTestApp, TestApp } from '../../support/app';

describe('orders API (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('creates a dry-run order and returns it again on replay', async () => {
    const body = { symbol: 'aapl', side: 'buy', qty: 10 };
    const first = await t.http.post('/api/v1/orders').set(auth).send(body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      status: 'dry_run',
      symbol: 'AAPL',
      qty: 10,
      order_type: 'market',
      limit_price: null,
    });
    expect(first.body.client_order_id).toMatch(/^[0-9a-f]{24}$/);
    const again = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ ...body, qty: '10.0' });
    expect(again.status).toBe(200);
    expect(again.body.client_order_id).toBe(first.body.client_order_id);
    const detail = await t.http.get(`/api/v1/orders/${first.body.client_order_id}`).set(auth);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ filled_qty: '0', strategy_id: 'alpha_baseline', time_in_force: 'day' });
    const audit = await t.db.query('SELECT action, actor FROM audit_log WHERE client_order_id = $1', [
      first.body.client_order_id,
    ]);
    expect(audit).toEqual([{ action: 'order.accepted', actor: 'admin' }]);
  });

  it('answers 401 without a key and 422 naming bad fields', async () => {
    expect((await t.http.post('/api/v1/orders').send({})).status).toBe(401);
    const bad = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'AAPL', side: 'hold', qty: 0, foo: 1 });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toBe('VALIDATION_FAILED');
    expect(bad.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['foo', 'qty', 'side']);
    expect(bad.body.request_id).toEqual(expect.any(String));
  });

  it('serves health, metrics, docs and metadata', async () => {
    expect((await t.http.get('/health')).body.status).toBe('ok');
    expect((await t.http.get('/health/live')).status).toBe(200);
    expect((await t.http.get('/health/ready')).status).toBe(200);
    expect((await t.http.get('/metrics')).text).toContain('execution_gateway_orders_total');
    expect((await t.http.get('/docs/json')).body.paths).toHaveProperty('/api/v1/orders');
    expect((await t.http.get('/')).body.service).toBe('execution-gateway');
    expect((await t.http.get('/api/v1/config').set(auth)).body).toMatchObject({ dry_run: true });
    const nf = await t.http.get('/nope');
    expect(nf.status).toBe(404);
    expect(nf.body.error).toBe('NOT_FOUND');
  });
});
