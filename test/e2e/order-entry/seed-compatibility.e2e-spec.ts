/**
 * Clients written for the original design keep working: `type` names the
 * order type (an alias of `order_type`), and a webhook signature may be the
 * bare hex digest (docs/api.md#compatibility).
 */
import { signWebhook } from '../../../src/webhooks/webhook-signature';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectInvalidFields } from '../../support/http-expect';

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
