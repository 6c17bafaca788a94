import { signWebhook } from '../../../src/webhooks/webhook-signature';
import { auth, startTestApp, TestApp } from '../../support/app';

const SECRET = 'webhook-secret-0123456789';

function tradeUpdate(clientOrderId: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event: 'fill',
    execution_id: `exec-${clientOrderId}`,
    timestamp: '2026-01-02T15:00:01.123456Z',
    price: '101.25',
    qty: '4',
    position_qty: '4',
    order: {
      id: `broker-${clientOrderId}`,
      client_order_id: clientOrderId,
      symbol: 'WHK',
      side: 'buy',
      type: 'market',
      order_type: 'market',
      time_in_force: 'day',
      qty: '4',
      filled_qty: '4',
      filled_avg_price: '101.25',
      status: 'filled',
      created_at: '2026-01-02T15:00:00.000000Z',
      updated_at: '2026-01-02T15:00:01.123456Z',
      submitted_at: '2026-01-02T15:00:00.100000Z',
      filled_at: '2026-01-02T15:00:01.123456Z',
      limit_price: null,
      stop_price: null,
    },
    ...over,
  };
}

async function submittedOrder(t: TestApp, id: string): Promise<void> {
  await t.db.query(
    `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status)
     VALUES ($1, 'alpha_baseline', 'WHK', 'buy', '4', 'market', 'day', 'submitted')`,
    [id],
  );
}

describe('POST /api/v1/webhooks/orders with WEBHOOK_SECRET (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { WEBHOOK_SECRET: SECRET } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (body: string, signature?: string) => {
    const req = t.http.post('/api/v1/webhooks/orders').set('Content-Type', 'application/json');
    if (signature !== undefined) req.set('X-Alpaca-Signature', signature);
    return req.send(body);
  };

  it('applies a correctly signed update once, and a replay changes nothing', async () => {
    await submittedOrder(t, 'wh-good');
    const body = JSON.stringify(tradeUpdate('wh-good'));
    const first = await post(body, signWebhook(body, SECRET));
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ status: 'ok', outcome: 'applied', client_order_id: 'wh-good' });
    const replay = await post(body, signWebhook(body, SECRET));
    expect(replay.status).toBe(200);
    expect(replay.body.outcome).toBe('unchanged');
    const fills = await t.db.query(`SELECT execution_id, qty, price FROM fills WHERE client_order_id = 'wh-good'`);
    expect(fills).toEqual([{ execution_id: 'exec-wh-good', qty: '4', price: '101.25' }]);
    const [order] = await t.db.query(`SELECT status, broker_order_id FROM orders WHERE client_order_id = 'wh-good'`);
    expect(order).toEqual({ status: 'filled', broker_order_id: 'broker-wh-good' });
  });

  it.each([
    ['missing', undefined],
    ['malformed', 'sha256=nothex'],
    ['for another body', signWebhook('{"other":true}', SECRET)],
    ['with another secret', null],
  ])('refuses a %s signature with 401 and writes nothing', async (_label, sig) => {
    await submittedOrder(t, `wh-bad-${_label.replace(/\W/g, '')}`);
    const body = JSON.stringify(tradeUpdate(`wh-bad-${_label.replace(/\W/g, '')}`));
    const signature = sig === null ? signWebhook(body, 'another-secret-0123456789') : sig;
    const res = await post(body, signature);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('INVALID_SIGNATURE');
    const fills = await t.db.query(`SELECT 1 FROM fills WHERE client_order_id LIKE 'wh-bad-%'`);
    expect(fills).toHaveLength(0);
  });

  it('does not accept an API key in place of the signature', async () => {
    const body = JSON.stringify(tradeUpdate('wh-key'));
    const res = await t.http
      .post('/api/v1/webhooks/orders')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send(body);
    expect(res.status).toBe(401);
  });

  it('answers 422 for a signed payload that is not an order update', async () => {
    const body = JSON.stringify({ event: 'fill', order: { id: 1 } });
    const res = await post(body, signWebhook(body, SECRET));
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('VALIDATION_FAILED');
  });

  it('reports an update for an order it never sent without inventing it', async () => {
    const body = JSON.stringify(tradeUpdate('wh-orphan'));
    const res = await post(body, signWebhook(body, SECRET));
    expect(res.status).toBe(200);
    expect(res.body.outcome).toBe('unknown_order');
    expect(await t.db.query(`SELECT 1 FROM orders WHERE client_order_id = 'wh-orphan'`)).toHaveLength(0);
  });
});

describe('POST /api/v1/webhooks/orders without WEBHOOK_SECRET (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('needs an API key with MANAGE_RECONCILIATION', async () => {
    await submittedOrder(t, 'wh-nokey');
    const body = tradeUpdate('wh-nokey');
    expect((await t.http.post('/api/v1/webhooks/orders').send(body)).status).toBe(401);
    const ok = await t.http.post('/api/v1/webhooks/orders').set(auth).send(body);
    expect(ok.status).toBe(200);
    expect(ok.body.outcome).toBe('applied');
  });
});
