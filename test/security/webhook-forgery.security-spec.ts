/**
 * Probes that held (docs/security.md#webhooks): with WEBHOOK_SECRET set, a
 * webhook whose signature is missing, wrong, made with another secret, made
 * over other bytes, or replaced by an API key changes nothing and answers 401
 * INVALID_SIGNATURE.
 */
import { signWebhook } from '../../src/webhooks/webhook-signature';
import { auth, startTestApp, TestApp } from '../support/app';
import { countRows, expectError } from '../support/http-expect';

const SECRET = 'webhook-secret-0123456789';
const ID = 'forgery-target-1';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { WEBHOOK_SECRET: SECRET } });
  await t.db.query(
    `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status)
     VALUES ($1, 'alpha_baseline', 'FRG', 'buy', '4', 'market', 'day', 'submitted')`,
    [ID],
  );
});

afterAll(async () => {
  await t.close();
});

const fill = JSON.stringify({
  event: 'fill',
  execution_id: 'exec-forged',
  timestamp: '2026-01-02T15:00:01Z',
  price: '1.00',
  qty: '4',
  position_qty: '4',
  order: {
    id: 'broker-forged',
    client_order_id: ID,
    symbol: 'FRG',
    side: 'buy',
    type: 'market',
    order_type: 'market',
    time_in_force: 'day',
    qty: '4',
    filled_qty: '4',
    filled_avg_price: '1.00',
    status: 'filled',
    created_at: '2026-01-02T15:00:00Z',
    updated_at: '2026-01-02T15:00:01Z',
    submitted_at: '2026-01-02T15:00:00Z',
    filled_at: '2026-01-02T15:00:01Z',
    limit_price: null,
    stop_price: null,
  },
});

const FORGERIES: Array<[string, (req: ReturnType<TestApp['http']['post']>) => ReturnType<TestApp['http']['post']>]> = [
  ['no signature', (r) => r],
  ['an empty signature', (r) => r.set('X-Alpaca-Signature', '')],
  ['a signature of garbage', (r) => r.set('X-Alpaca-Signature', 'sha256=zzzz')],
  [
    'a signature made with another secret',
    (r) => r.set('X-Alpaca-Signature', signWebhook(fill, 'another-secret-0123456789')),
  ],
  ['a valid signature of other bytes', (r) => r.set('X-Alpaca-Signature', signWebhook(`${fill} `, SECRET))],
  ['an admin API key instead of a signature', (r) => r.set(auth)],
];

it.each(FORGERIES)('%s: 401, nothing applied', async (_name, sign) => {
  const before = await countRows(t.db, 'fills');
  const res = await sign(t.http.post('/api/v1/webhooks/orders').set('Content-Type', 'application/json')).send(fill);
  expectError(res, 401, 'INVALID_SIGNATURE');
  expect(await countRows(t.db, 'fills')).toBe(before);
  const [order] = await t.db.query(`SELECT status, filled_qty::text AS filled FROM orders WHERE client_order_id = $1`, [
    ID,
  ]);
  expect(order).toEqual({ status: 'submitted', filled: '0' });
});

it('the same body correctly signed is applied (the probes above fail on the signature alone)', async () => {
  const res = await t.http
    .post('/api/v1/webhooks/orders')
    .set('Content-Type', 'application/json')
    .set('X-Alpaca-Signature', signWebhook(fill, SECRET))
    .send(fill);
  expect(res.status).toBe(200);
  expect(await countRows(t.db, 'fills')).toBe(1);
});
