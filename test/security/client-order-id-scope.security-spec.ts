/**
 * Finding 10 (docs/api.md#client_order_id-and-idempotency, docs/security.md#what-a-scoped-key-can-learn):
 * a client_order_id held by another strategy's order answered 409
 * CLIENT_ORDER_ID_CONFLICT while GET answered 404, so a scoped key learned
 * that the id exists — and since derived ids are a hash of an order's terms,
 * strategy and date, it could test whether another strategy placed a given
 * order today. Now every id a key cannot use gets one answer, 409
 * CLIENT_ORDER_ID_UNAVAILABLE, whether or not any order holds it; no second
 * order is ever created.
 */
import { ManualClock } from '../../src/infra/clock/clock';
import { generateClientOrderId } from '../../src/trading/client-order-id';
import { createKey, CreatedKey } from '../support/api-keys';
import { auth, startTestApp, TestApp } from '../support/app';
import { countRows, expectError } from '../support/http-expect';

let t: TestApp;
let scoped: CreatedKey;

beforeAll(async () => {
  t = await startTestApp();
  scoped = await createKey(t, ['SUBMIT_ORDER', 'VIEW_ORDERS'], ['mine']);
});

afterAll(async () => {
  await t.close();
});

const ORDERS = '/api/v1/orders';

/** The answer without what differs per request. */
function answer(res: { status: number; body: Record<string, unknown> }) {
  const { request_id: _r, ...rest } = res.body;
  return { status: res.status, ...rest };
}

it("another strategy's derived id answers exactly as a derived-format id nobody holds", async () => {
  const theirs = { symbol: 'SCOPE', side: 'buy', qty: 7, strategy_id: 'theirs' };
  const placed = await t.http.post(ORDERS).set(auth).send(theirs);
  expect(placed.status).toBe(201);
  const theirId = placed.body.client_order_id as string;
  // The probe a scoped key can compute: the derived id of the order it suspects.
  expect(theirId).toBe(
    generateClientOrderId({
      ...theirs,
      qty: '7',
      limitPrice: null,
      stopPrice: null,
      strategyId: 'theirs',
      at: new Date(),
    }),
  );
  const nobodys = '0123456789abcdef01234567';
  const before = await countRows(t.db, 'orders');

  const probe = (id: string) =>
    t.http
      .post(ORDERS)
      .set(scoped.auth)
      .send({ symbol: 'SCOPE', side: 'buy', qty: 7, strategy_id: 'mine', client_order_id: id });
  const taken = await probe(theirId);
  const free = await probe(nobodys);
  expectError(taken, 409, 'CLIENT_ORDER_ID_UNAVAILABLE');
  expect(
    answer({
      ...free,
      body: {
        ...free.body,
        message: String(free.body.message).replace(nobodys, theirId),
        details: { client_order_id: theirId },
      },
    }),
  ).toEqual(answer(taken));
  expect(await countRows(t.db, 'orders')).toBe(before);
  expect((await t.http.get(`${ORDERS}/${theirId}`).set(scoped.auth)).status).toBe(404);
});

it("another strategy's own id is unavailable, says nothing of that order, and creates nothing", async () => {
  const placed = await t.http
    .post(ORDERS)
    .set(auth)
    .send({ symbol: 'SCOPE', side: 'sell', qty: 3, strategy_id: 'theirs', client_order_id: 'their-own-id' });
  expect(placed.status).toBe(201);
  const before = await countRows(t.db, 'orders');
  const res = await t.http
    .post(ORDERS)
    .set(scoped.auth)
    .send({ symbol: 'OTHER', side: 'buy', qty: 1, strategy_id: 'mine', client_order_id: 'their-own-id' });
  const body = expectError(res, 409, 'CLIENT_ORDER_ID_UNAVAILABLE');
  expect(body.details).toEqual({ client_order_id: 'their-own-id' });
  expect(res.text).not.toMatch(/theirs|SCOPE|sell|differing/);
  expect(await countRows(t.db, 'orders')).toBe(before);
});

it('a key still replays its own orders, by derived id and by its own id', async () => {
  const order = { symbol: 'MINE', side: 'buy', qty: 2, strategy_id: 'mine' };
  const first = await t.http.post(ORDERS).set(scoped.auth).send(order);
  expect(first.status).toBe(201);
  const again = await t.http
    .post(ORDERS)
    .set(scoped.auth)
    .send({ ...order, client_order_id: first.body.client_order_id });
  expect(again.status).toBe(200);
  const own = await t.http
    .post(ORDERS)
    .set(scoped.auth)
    .send({ ...order, client_order_id: 'mine-1' });
  expect(own.status).toBe(201);
  expect(
    (
      await t.http
        .post(ORDERS)
        .set(scoped.auth)
        .send({ ...order, client_order_id: 'mine-1' })
    ).status,
  ).toBe(200);
});

it('a retry that echoes the derived id after the UTC date changed is still a replay of its own order', async () => {
  const clock = new ManualClock(new Date('2026-03-02T23:59:30Z'));
  const late = await startTestApp({ clock });
  try {
    const key = await createKey(late, ['SUBMIT_ORDER', 'VIEW_ORDERS'], ['mine']);
    const order = { symbol: 'NIGHT', side: 'buy', qty: 4, strategy_id: 'mine' };
    const first = await late.http.post(ORDERS).set(key.auth).send(order);
    expect(first.status).toBe(201);
    clock.set(new Date('2026-03-03T00:00:30Z'));
    const before = await countRows(late.db, 'orders');
    const retry = await late.http
      .post(ORDERS)
      .set(key.auth)
      .send({ ...order, client_order_id: first.body.client_order_id });
    expect(retry.status).toBe(200);
    expect(retry.body.client_order_id).toBe(first.body.client_order_id);
    expect(await countRows(late.db, 'orders')).toBe(before);
  } finally {
    await late.close();
  }
});
