/**
 * Operations (docs/api.md, docs/configuration.md): health probes, Prometheus metrics, request
 * ids, metadata, the safety-flags endpoint, the OpenAPI document, and two
 * replicas sharing one database.
 */
import { auth, startTestApp, TestApp } from '../../support/app';
import { countRows, expectError } from '../../support/http-expect';

const ORDERS = '/api/v1/orders';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The value of one Prometheus sample, 0 when the series does not exist yet. */
function sample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('operations (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('health probes', () => {
    it('/health with a key reports database, state store (redis) and the gateway mode', async () => {
      const res = await t.http.get('/health').set(auth);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        error: {},
        details: {
          database: { status: 'up' },
          state_store: { status: 'up', mode: 'redis' },
          gateway: { status: 'up', environment: 'development', dry_run: true },
        },
      });
      expect(res.body.info).toEqual(res.body.details);
    });

    it('/health without a key reports each component state only (docs/security.md#health-endpoints)', async () => {
      const res = await t.http.get('/health');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        error: {},
        details: { database: { status: 'up' }, state_store: { status: 'up' }, gateway: { status: 'up' } },
      });
      for (const c of Object.values(res.body.details as Record<string, object>))
        expect(Object.keys(c)).toEqual(['status']);
    });

    it('/health/live answers without checking dependencies', async () => {
      const res = await t.http.get('/health/live');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
    });

    it('/health/ready checks exactly the database and the state store', async () => {
      const res = await t.http.get('/health/ready');
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
      expect(Object.keys(res.body.details).sort()).toEqual(['database', 'state_store']);
      expect(res.body.details.database.status).toBe('up');
      // Public and minimal: states only, no store mode.
      expect(res.body.details.state_store).toEqual({ status: 'up' });
    });

    it('probes need no API key', async () => {
      for (const p of ['/health', '/health/live', '/health/ready', '/metrics', '/', '/docs/json']) {
        expect((await t.http.get(p)).status).toBe(200);
      }
    });
  });

  describe('metrics', () => {
    it('counts orders by status (not replays) and times requests by route template', async () => {
      const before = (await t.http.get('/metrics')).text;
      const series = 'execution_gateway_orders_total{status="dry_run"}';
      const body = { symbol: 'AAPL', side: 'buy', qty: 3, strategy_id: 'metrics_test' };
      const created = await t.http.post(ORDERS).set(auth).send(body);
      expect(created.status).toBe(201);
      expect((await t.http.post(ORDERS).set(auth).send(body)).status).toBe(200);
      expect((await t.http.get(`${ORDERS}/${created.body.client_order_id}`).set(auth)).status).toBe(200);

      const res = await t.http.get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(sample(res.text, series) - sample(before, series)).toBe(1);
      expect(res.text).toContain('# TYPE execution_gateway_http_request_duration_seconds histogram');
      expect(
        sample(
          res.text,
          'execution_gateway_http_request_duration_seconds_count{method="POST",route="/api/v1/orders",status_code="201"}',
        ),
      ).toBeGreaterThanOrEqual(1);
      expect(
        sample(
          res.text,
          'execution_gateway_http_request_duration_seconds_count{method="GET",route="/api/v1/orders/:client_order_id",status_code="200"}',
        ),
      ).toBeGreaterThanOrEqual(1);
      // Route labels are templates: an order id never becomes a label value.
      expect(res.text).not.toContain(created.body.client_order_id);
    });
  });

  describe('request ids', () => {
    it('keeps a sane X-Request-Id and puts it in error bodies', async () => {
      const res = await t.http.get(`${ORDERS}/unknown-order`).set(auth).set('X-Request-Id', 'trace-abc.123:x_y-z');
      expect(res.headers['x-request-id']).toBe('trace-abc.123:x_y-z');
      expect(expectError(res, 404, 'ORDER_NOT_FOUND').request_id).toBe('trace-abc.123:x_y-z');
    });

    it('generates one when absent, on success and on error alike', async () => {
      const ok = await t.http.get('/health/live');
      expect(ok.headers['x-request-id']).toMatch(UUID);
      const err = await t.http.post(ORDERS).set(auth).send({});
      expect(err.headers['x-request-id']).toMatch(UUID);
      expect(err.body.request_id).toBe(err.headers['x-request-id']);
      const other = await t.http.get('/nowhere');
      expect(other.headers['x-request-id']).toMatch(UUID);
      expect(other.headers['x-request-id']).not.toBe(err.headers['x-request-id']);
      expect(expectError(other, 404, 'NOT_FOUND').request_id).toBe(other.headers['x-request-id']);
    });

    it('replaces an unsafe X-Request-Id instead of echoing it', async () => {
      for (const given of ['has spaces in it', 'x'.repeat(65), 'a<script>b']) {
        const res = await t.http.get('/nope').set('X-Request-Id', given);
        expect(res.headers['x-request-id']).toMatch(UUID);
        expect(res.body.request_id).toBe(res.headers['x-request-id']);
      }
    });

    it('records the request id on the audit row', async () => {
      const res = await t.http
        .post(ORDERS)
        .set(auth)
        .set('X-Request-Id', 'req-audit-1')
        .send({ symbol: 'KO', side: 'sell', qty: 2 });
      expect(res.status).toBe(201);
      const rows = await t.db.query('SELECT request_id FROM audit_log WHERE client_order_id = $1', [
        res.body.client_order_id,
      ]);
      expect(rows).toEqual([{ request_id: 'req-audit-1' }]);
    });
  });

  describe('metadata and safety flags', () => {
    it('GET / describes the service', async () => {
      const res = await t.http.get('/');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        service: 'execution-gateway',
        version: '0.1.0',
        environment: 'development',
        dry_run: true,
        docs: '/docs',
        health: '/health',
        metrics: '/metrics',
        api: '/api/v1',
      });
    });

    it('GET /api/v1/config needs a key and reports the safety flags', async () => {
      expectError(await t.http.get('/api/v1/config'), 401, 'UNAUTHENTICATED');
      const res = await t.http.get('/api/v1/config').set(auth);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        environment: 'development',
        dry_run: true,
        alpaca_paper: true,
        circuit_breaker_enabled: true,
      });
    });
  });

  describe('API documentation', () => {
    it('/docs serves the Swagger UI page and its assets', async () => {
      const res = await t.http.get('/docs');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toMatch(/swagger-ui/i);
      const init = await t.http.get('/docs/swagger-ui-init.js');
      expect(init.status).toBe(200);
      expect(init.text).toContain('/api/v1/orders');
    });

    it('/docs/json declares the auth schemes, the order paths and the OrderRequestDto schema', async () => {
      const res = await t.http.get('/docs/json');
      expect(res.status).toBe(200);
      const doc = res.body;
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.components.securitySchemes['api-key']).toMatchObject({
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
      });

      const orders = doc.paths['/api/v1/orders'];
      expect(Object.keys(orders)).toEqual(expect.arrayContaining(['get', 'post']));
      expect(doc.paths['/api/v1/orders/{client_order_id}']).toHaveProperty('get');
      expect(orders.post.security).toEqual(expect.arrayContaining([{ bearer: [] }]));
      expect(orders.post.requestBody.content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/OrderRequestDto',
      });
      expect(Object.keys(orders.post.responses)).toEqual(expect.arrayContaining(['200', '201', '401', '409', '422']));

      const dto = doc.components.schemas.OrderRequestDto;
      expect(Object.keys(dto.properties).sort()).toEqual(
        [
          'symbol',
          'side',
          'qty',
          'order_type',
          'limit_price',
          'stop_price',
          'time_in_force',
          'trail_price',
          'trail_percent',
          'extended_hours',
          'order_class',
          'take_profit',
          'stop_loss',
          'client_order_id',
          'idempotency_key',
          'strategy_id',
          'type',
        ].sort(),
      );
      expect(dto.required.slice().sort()).toEqual(['qty', 'side', 'symbol']);
      expect(dto.properties.side.enum).toEqual(['buy', 'sell']);
      expect(dto.properties.order_type.enum).toEqual(['market', 'limit', 'stop', 'stop_limit', 'trailing_stop']);
      expect(dto.properties.time_in_force.enum).toEqual(['day', 'gtc', 'ioc', 'fok']);
    });
  });

  describe('two replicas on one database', () => {
    let t2: TestApp;
    beforeAll(async () => {
      t2 = await startTestApp({ database: t.database });
    });
    afterAll(async () => {
      await t2?.close();
    });

    it('a second instance sees the order the first wrote', async () => {
      const res = await t.http.post(ORDERS).set(auth).send({ symbol: 'PEP', side: 'buy', qty: 9 });
      expect(res.status).toBe(201);
      const seen = await t2.http.get(`${ORDERS}/${res.body.client_order_id}`).set(auth);
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ client_order_id: res.body.client_order_id, symbol: 'PEP', qty: 9 });
      // And a replay on the other replica is the same order.
      const replay = await t2.http.post(ORDERS).set(auth).send({ symbol: 'PEP', side: 'buy', qty: 9 });
      expect(replay.status).toBe(200);
      expect(replay.body.client_order_id).toBe(res.body.client_order_id);
    });

    it('concurrent identical POSTs spread over both instances make one row', async () => {
      const body = { symbol: 'XOM', side: 'sell', qty: 11, strategy_id: 'replicas' };
      const ordersBefore = await countRows(t.db, 'orders');
      const responses = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? t : t2).http.post(ORDERS).set(auth).send(body)),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 200)).toHaveLength(59);
      expect(new Set(responses.map((r) => r.body.client_order_id)).size).toBe(1);

      expect(await countRows(t.db, 'orders')).toBe(ordersBefore + 1);
      const audit = await t.db.query(`SELECT action FROM audit_log WHERE strategy_id = 'replicas'`);
      expect(audit).toEqual([{ action: 'order.accepted' }]);
    });

    it('both replicas report ready', async () => {
      expect((await t2.http.get('/health/ready')).status).toBe(200);
      expect((await t.http.get('/health/ready')).status).toBe(200);
    });
  });
});
