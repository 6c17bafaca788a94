/**
 * Finding 5 (docs/security.md#input-validation): symbols were upper-cased
 * before they were checked, so `ſpy` became `SPY` and `ß` became `SS`, and
 * `.`, `..`, `//`, `../..` passed (a `.` symbol turns the broker's
 * `/v2/positions/{symbol}` into `/v2/positions/`, which closes every
 * position). The raw ASCII form is checked first, at every door a symbol
 * enters: the order body, `?symbol=` queries, fat-finger overrides, webhooks.
 */
import { signWebhook } from '../../src/webhooks/webhook-signature';
import { auth, startTestApp, TestApp } from '../support/app';
import { countRows, expectInvalidFields } from '../support/http-expect';

const SECRET = 'webhook-secret-0123456789';
const BAD = ['ſpy', 'ß', '\u212aO', '.', '..', '//', '../..', 'A..B', 'A/', 'A.', '/A'];
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { WEBHOOK_SECRET: SECRET } });
});

afterAll(async () => {
  await t.close();
});

describe.each(BAD)('the symbol %j', (symbol) => {
  it('is refused in an order, and no order is written', async () => {
    const before = await countRows(t.db, 'orders');
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol, side: 'buy', qty: 1 });
    expectInvalidFields(res, ['symbol']);
    expect(await countRows(t.db, 'orders')).toBe(before);
  });

  it('is refused in ?symbol=', async () => {
    const res = await t.http.get('/api/v1/orders').query({ symbol }).set(auth);
    expectInvalidFields(res, ['symbol']);
  });

  it('is refused as a fat-finger override key', async () => {
    const res = await t.http
      .put('/api/v1/fat-finger/thresholds')
      .set(auth)
      .send({ operator: 'sec', symbol_overrides: { [symbol]: { max_qty: 10 } } });
    expectInvalidFields(res, [`symbol_overrides.${symbol}`]);
  });

  it('is refused in a signed webhook', async () => {
    const body = JSON.stringify({
      event: 'new',
      order: {
        id: 'b-sym',
        client_order_id: 'sym-webhook',
        symbol,
        side: 'buy',
        type: 'market',
        time_in_force: 'day',
        qty: '1',
        filled_qty: '0',
        status: 'new',
        created_at: '2026-01-02T15:00:00Z',
      },
    });
    const res = await t.http
      .post('/api/v1/webhooks/orders')
      .set('Content-Type', 'application/json')
      .set('X-Alpaca-Signature', signWebhook(body, SECRET))
      .send(body);
    expectInvalidFields(res, ['order.symbol']);
  });
});

it('a plain symbol still passes, trimmed and upper-cased', async () => {
  const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: ' brk.b ', side: 'buy', qty: 1 });
  expect(res.status).toBe(201);
  expect(res.body.symbol).toBe('BRK.B');
});
