/**
 * Clients written for the original design keep working (docs/api.md#compatibility):
 * `type` names the order type (an alias of `order_type`), a webhook signature
 * may be the bare hex digest, the minimal webhook body is applied, `/health`
 * carries the original fields, and the original documentation's curl examples
 * run as written.
 */
import { signWebhook } from '../../../src/webhooks/webhook-signature';
import { auth, startTestApp, TestApp } from '../../support/app';
import { parseCurl, runCurl } from '../../support/curl';
import { expectError, expectInvalidFields } from '../../support/http-expect';

const SECRET = 'webhook-secret-0123456789';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { WEBHOOK_SECRET: SECRET } });
});

afterAll(async () => {
  await t.close();
});

it('POST /orders with "type" instead of "order_type" creates the order', async () => {
  const res = await t.http
    .post('/api/v1/orders')
    .set(auth)
    .send({ symbol: 'SEED', side: 'buy', qty: 3, type: 'limit', limit_price: '12.5', time_in_force: 'day' });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ order_type: 'limit', limit_price: '12.5' });
});

it('"type" and "order_type" that differ are refused naming type', async () => {
  const res = await t.http
    .post('/api/v1/orders')
    .set(auth)
    .send({ symbol: 'SEED', side: 'buy', qty: 3, type: 'limit', order_type: 'market' });
  expectInvalidFields(res, ['type']);
});

it('a webhook signed with the bare hex digest is verified like sha256=<hex>', async () => {
  const body = JSON.stringify({ event: 'new', order: { id: 'b-seed', client_order_id: 'nobody-seed' } });
  const bare = signWebhook(body, SECRET).slice('sha256='.length);
  const ok = await t.http
    .post('/api/v1/webhooks/orders')
    .set('Content-Type', 'application/json')
    .set('X-Alpaca-Signature', bare)
    .send(body);
  expect(ok.status).not.toBe(401);
  const forged = await t.http
    .post('/api/v1/webhooks/orders')
    .set('Content-Type', 'application/json')
    .set(
      'X-Alpaca-Signature',
      bare.replace(/^./, (c) => (c === '0' ? '1' : '0')),
    )
    .send(body);
  expect(forged.status).toBe(401);
});

/**
 * The original design's documented examples, copied as written. Two things
 * differ by necessity: every /api/v1 call now needs an API key (added as a
 * header), and `<signature>` stands for the HMAC of the body (computed here).
 */
const SEED_SUBMIT = `curl -X POST http://localhost:8002/api/v1/orders \
  -H "Content-Type: application/json" \
  -d '{
    "symbol": "AAPL",
    "side": "buy",
    "qty": 10,
    "order_type": "market"
  }'`;
const SEED_GET_ORDER = 'curl http://localhost:8002/api/v1/orders/9467f0b30ecb46c52247b400';
const SEED_POSITIONS = 'curl http://localhost:8002/api/v1/positions';
const SEED_WEBHOOK = `curl -X POST http://localhost:8002/api/v1/webhooks/orders \
  -H "Content-Type: application/json" \
  -H "X-Alpaca-Signature: sha256=<signature>" \
  -d '{
    "event": "fill",
    "order": {
      "id": "broker123",
      "client_order_id": "9467f0b30ecb46c52247b400",
      "symbol": "AAPL",
      "side": "buy",
      "qty": "10",
      "filled_qty": "10",
      "filled_avg_price": "150.25",
      "status": "filled"
    },
    "timestamp": "2025-10-17T16:30:05Z"
  }'`;
const SEED_HEALTH = 'curl http://localhost:8002/health';
const SEED_HEALTH_SILENT = 'curl -s http://localhost:8002/health';
const SEED_SUBMIT_TYPE = `curl -s -X POST http://localhost:8002/api/v1/orders   -H 'Content-Type: application/json'   -d '{"symbol":"AAPL","side":"buy","qty":1,"type":"market","time_in_force":"day"}'`;
const SEED_IDEMPOTENCY = `curl -X POST http://localhost:8002/api/v1/orders -d '{"symbol":"AAPL","side":"buy","qty":10,"order_type":"market"}'`;

describe("the original design's documented curl examples", () => {
  const SEED_ORDER_ID = '9467f0b30ecb46c52247b400';

  it('POST /api/v1/orders answers the documented shape', async () => {
    const res = await runCurl(t.http, parseCurl(SEED_SUBMIT), auth);
    expect([200, 201]).toContain(res.status);
    expect(res.body).toMatchObject({
      status: 'dry_run',
      broker_order_id: null,
      symbol: 'AAPL',
      side: 'buy',
      qty: 10,
      order_type: 'market',
      limit_price: null,
    });
    expect(res.body.client_order_id).toMatch(/^[0-9a-f]{24}$/);
    expect(typeof res.body.created_at).toBe('string');
    expect(typeof res.body.message).toBe('string');
  });

  it('GET /api/v1/orders/{id} answers the documented fields (the id is the one this gateway derived)', async () => {
    const created = await runCurl(t.http, parseCurl(SEED_SUBMIT), auth);
    const req = parseCurl(SEED_GET_ORDER.replace(SEED_ORDER_ID, created.body.client_order_id as string));
    const res = await runCurl(t.http, req, auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      client_order_id: created.body.client_order_id,
      strategy_id: 'alpha_baseline',
      symbol: 'AAPL',
      side: 'buy',
      qty: 10,
      order_type: 'market',
      status: 'dry_run',
      broker_order_id: null,
      filled_qty: '0',
      filled_avg_price: null,
    });
    for (const k of ['created_at', 'updated_at']) expect(typeof res.body[k]).toBe('string');
  });

  it('the minimal webhook fill is applied once, deduped on the cumulative filled_qty; positions show it', async () => {
    // The order as the broker holds it: sent, not yet filled, its broker id not known yet.
    await t.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status)
       VALUES ($1, 'alpha_baseline', 'AAPL', 'buy', '10', 'market', 'day', 'submitted')`,
      [SEED_ORDER_ID],
    );
    const req = parseCurl(SEED_WEBHOOK);
    req.headers = req.headers.map(([n, v]) =>
      n === 'X-Alpaca-Signature' ? [n, v.replace('sha256=<signature>', signWebhook(req.body!, SECRET))] : [n, v],
    );
    const first = await runCurl(t.http, req);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'ok', outcome: 'applied', client_order_id: SEED_ORDER_ID });
    const replay = await runCurl(t.http, req);
    expect(replay.status).toBe(200);
    expect(replay.body.outcome).toBe('unchanged');

    const fills = await t.db.query(`SELECT qty, price FROM fills WHERE client_order_id = $1`, [SEED_ORDER_ID]);
    expect(fills).toEqual([{ qty: '10', price: '150.25' }]);
    const [order] = await t.db.query(
      `SELECT status, broker_order_id, filled_qty FROM orders WHERE client_order_id = $1`,
      [SEED_ORDER_ID],
    );
    expect(order).toEqual({ status: 'filled', broker_order_id: 'broker123', filled_qty: '10' });

    const positions = await runCurl(t.http, parseCurl(SEED_POSITIONS), auth);
    expect(positions.status).toBe(200);
    expect(positions.body).toMatchObject({
      positions: [expect.objectContaining({ symbol: 'AAPL', qty: '10', avg_entry_price: '150.25', realized_pl: '0' })],
      total_positions: 1,
    });
    for (const k of ['total_unrealized_pl', 'total_realized_pl']) expect(typeof positions.body[k]).toBe('string');
  });

  it.each([SEED_HEALTH, SEED_HEALTH_SILENT])(
    '%s carries the original fields beside the component states',
    async (curl) => {
      const res = await runCurl(t.http, parseCurl(curl));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        status: 'ok',
        service: 'execution-gateway',
        version: '0.1.0',
        dry_run: true,
        database_connected: true,
        alpaca_connected: false,
        details: { database: { status: 'up' } },
      });
      // Without a key: states only, no instance ids, symbols or error text.
      for (const c of Object.values(res.body.details as Record<string, object>))
        expect(Object.keys(c)).toEqual(['status']);
    },
  );

  it('POST /api/v1/orders with "type" and time_in_force creates the order', async () => {
    const res = await runCurl(t.http, parseCurl(SEED_SUBMIT_TYPE), auth);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ symbol: 'AAPL', qty: 1, order_type: 'market', status: 'dry_run' });
  });

  it('the idempotency example (curl -d without a Content-Type) answers the same client_order_id twice', async () => {
    const first = await runCurl(t.http, parseCurl(SEED_IDEMPOTENCY), auth);
    const second = await runCurl(t.http, parseCurl(SEED_IDEMPOTENCY), auth);
    expect([200, 201]).toContain(first.status);
    expect(second.status).toBe(200);
    expect(second.body.client_order_id).toBe(first.body.client_order_id);
  });

  it('a real form body (not JSON) under the form content type is a 400 MALFORMED_JSON, never parsed as a form', async () => {
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send('symbol=AAPL&side=buy&qty=10');
    expectError(res, 400, 'MALFORMED_JSON');
  });
});
