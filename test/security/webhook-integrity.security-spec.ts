/**
 * Finding 9 (docs/security.md#webhooks): a signed webhook whose
 * client_order_id was unknown was applied to the order named by its broker
 * id, and the answer named the unknown id; prices were not bounded (a fill at
 * 1e-27 was recorded). Now both ids must name the same stored order (else 409
 * WEBHOOK_ID_MISMATCH, audited, nothing applied), and every price must be
 * positive, below 1000000000 and within 8 decimal places (422 naming it).
 */
import { signWebhook } from '../../src/webhooks/webhook-signature';
import { startTestApp, TestApp } from '../support/app';
import { expectError, expectInvalidFields } from '../support/http-expect';

const SECRET = 'webhook-secret-0123456789';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { WEBHOOK_SECRET: SECRET } });
});

afterAll(async () => {
  await t.close();
});

function fill(
  clientOrderId: string,
  brokerOrderId: string,
  over: Record<string, unknown> = {},
  order: Record<string, unknown> = {},
) {
  return {
    event: 'fill',
    execution_id: `exec-${clientOrderId}-${brokerOrderId}`,
    timestamp: '2026-01-02T15:00:01Z',
    price: '101.25',
    qty: '4',
    order: {
      id: brokerOrderId,
      client_order_id: clientOrderId,
      symbol: 'WHS',
      side: 'buy',
      type: 'market',
      time_in_force: 'day',
      qty: '4',
      filled_qty: '4',
      filled_avg_price: '101.25',
      status: 'filled',
      created_at: '2026-01-02T15:00:00Z',
      ...order,
    },
    ...over,
  };
}

async function stored(id: string, brokerOrderId: string | null): Promise<void> {
  await t.db.query(
    `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status, broker_order_id)
     VALUES ($1, 'alpha_baseline', 'WHS', 'buy', '4', 'market', 'day', 'submitted', $2)`,
    [id, brokerOrderId],
  );
}

function post(payload: unknown) {
  const body = JSON.stringify(payload);
  return t.http
    .post('/api/v1/webhooks/orders')
    .set('Content-Type', 'application/json')
    .set('X-Alpaca-Signature', signWebhook(body, SECRET))
    .send(body);
}

async function untouched(id: string): Promise<void> {
  const [o] = await t.db.query(`SELECT status, filled_qty FROM orders WHERE client_order_id = $1`, [id]);
  expect(o).toEqual({ status: 'submitted', filled_qty: '0' });
  expect(await t.db.query(`SELECT 1 FROM fills WHERE client_order_id = $1`, [id])).toHaveLength(0);
}

describe('ids', () => {
  it('an unknown client_order_id is not applied to the order its broker id names: 409, audited', async () => {
    await stored('wh-victim', 'b-victim');
    const res = await post(fill('wh-unknown', 'b-victim'));
    const body = expectError(res, 409, 'WEBHOOK_ID_MISMATCH');
    expect(body.details).toEqual({ client_order_id: 'wh-unknown', broker_order_id: 'b-victim' });
    await untouched('wh-victim');
    const audit = await t.db.query(
      `SELECT actor, reason_code, details FROM audit_log WHERE action = 'webhook.id_mismatch' AND details->>'client_order_id' = 'wh-unknown'`,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'webhook', reason_code: 'WEBHOOK_ID_MISMATCH' });
    expect(audit[0].details.stored).toEqual([{ client_order_id: 'wh-victim', broker_order_id: 'b-victim' }]);
  });

  it("a known client_order_id with another order's broker id: 409, nothing applied to either", async () => {
    await stored('wh-a', null);
    await stored('wh-b', 'b-b');
    expectError(await post(fill('wh-a', 'b-b')), 409, 'WEBHOOK_ID_MISMATCH');
    await untouched('wh-a');
    await untouched('wh-b');
  });

  it('a client_order_id whose order carries another broker id: 409', async () => {
    await stored('wh-c', 'b-c');
    expectError(await post(fill('wh-c', 'b-other')), 409, 'WEBHOOK_ID_MISMATCH');
    await untouched('wh-c');
  });

  it('agreeing ids are applied, and the answer names the stored order', async () => {
    await stored('wh-ok', 'b-ok');
    const res = await post(fill('wh-ok', 'b-ok'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', outcome: 'applied', client_order_id: 'wh-ok' });
  });
});

describe('prices', () => {
  it.each([
    ['price', { price: '0.000000000000000000000000001' }, {}],
    ['price', { price: '0' }, {}],
    ['price', { price: '1000000000' }, {}],
    ['order.filled_avg_price', {}, { filled_avg_price: '0.000000000000000000000000001' }],
    ['order.limit_price', {}, { limit_price: '0.123456789' }],
    ['order.stop_price', {}, { stop_price: '-1' }],
  ])('%s out of range: 422 naming it, nothing applied', async (field, over, order) => {
    const id = `wh-px-${field}-${Object.values({ ...over, ...order })[0]}`.slice(0, 48);
    await stored(id, null);
    expectInvalidFields(await post(fill(id, `b-${id}`, over, order)), [field]);
    await untouched(id);
  });
});
