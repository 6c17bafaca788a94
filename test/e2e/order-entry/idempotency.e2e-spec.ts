/**
 * Idempotency (docs/architecture.md#no-duplicate-broker-order, docs/api.md#client_order_id-and-idempotency): one client_order_id is one order, under
 * concurrency and whatever the spelling of the numbers; the deterministic id
 * follows the documented formula and the UTC trade date.
 */
import type { Response } from 'supertest';
import { ManualClock } from '../../../src/infra/clock/clock';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectedClientOrderId } from '../../support/client-order-id';
import { countRows, expectError } from '../../support/http-expect';

const ORDERS = '/api/v1/orders';

describe('idempotency (e2e)', () => {
  const clock = new ManualClock(new Date('2026-03-10T14:30:00.000Z'));
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ clock });
  });
  afterAll(async () => {
    await t?.close();
  });
  beforeEach(() => clock.set('2026-03-10T14:30:00.000Z'));

  const post = (body: object | string): Promise<Response> => {
    const req = t.http.post(ORDERS).set(auth);
    return typeof body === 'string' ? req.set('Content-Type', 'application/json').send(body) : req.send(body);
  };

  async function ordersWithId(id: string): Promise<number> {
    const rows: Array<{ n: string }> = await t.db.query('SELECT count(*) AS n FROM orders WHERE client_order_id = $1', [
      id,
    ]);
    return Number(rows[0].n);
  }

  async function auditFor(id: string): Promise<Array<{ action: string; request_id: string | null }>> {
    return t.db.query('SELECT action, request_id FROM audit_log WHERE client_order_id = $1 ORDER BY id', [id]);
  }

  it('creates a dry-run order with the default terms and returns it again on replay', async () => {
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

  it('100 concurrent identical POSTs make exactly one order, one audit row, one 201 and 99 200s', async () => {
    const body = { symbol: 'MSFT', side: 'sell', qty: 7, strategy_id: 'stress_1' };
    const responses = await Promise.all(Array.from({ length: 100 }, () => post(body)));

    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(99);

    const expectedId = expectedClientOrderId({
      symbol: 'MSFT',
      side: 'sell',
      qty: '7',
      strategyId: 'stress_1',
      date: '2026-03-10',
    });
    const ids = new Set(responses.map((r) => r.body.client_order_id));
    expect([...ids]).toEqual([expectedId]);
    // Every caller sees the same order, not just the same id.
    const created = responses.find((r) => r.status === 201)!;
    for (const r of responses) {
      expect(r.body).toMatchObject({ status: 'dry_run', symbol: 'MSFT', side: 'sell', qty: 7 });
      expect(r.body.created_at).toBe(created.body.created_at);
    }

    expect(await ordersWithId(expectedId)).toBe(1);
    const audit = await auditFor(expectedId);
    expect(audit).toEqual([{ action: 'order.accepted', request_id: created.headers['x-request-id'] }]);
    const accepted: Array<{ n: string }> = await t.db.query(
      `SELECT count(*) AS n FROM audit_log WHERE action = 'order.accepted' AND symbol = 'MSFT'`,
    );
    expect(Number(accepted[0].n)).toBe(1);
  });

  it('qty 10, "10", 10.0, "10.0" and limit_price 150.50, "150.5", "150.50" are one order with the documented id', async () => {
    const expectedId = expectedClientOrderId({
      symbol: 'AAPL',
      side: 'buy',
      qty: '10',
      limitPrice: '150.5',
      date: '2026-03-10',
    });
    // Raw JSON so that 10.0 and 150.50 reach the server exactly as written.
    const spellings = [
      '{"symbol":"AAPL","side":"buy","qty":10,"order_type":"limit","limit_price":150.50}',
      '{"symbol":"aapl","side":"buy","qty":"10","order_type":"limit","limit_price":"150.5"}',
      '{"symbol":" AAPL","side":"buy","qty":10.0,"order_type":"limit","limit_price":"150.50"}',
      '{"symbol":"AAPL","side":"buy","qty":"10.0","order_type":"limit","limit_price":150.5,"time_in_force":"day"}',
    ];
    const responses: Response[] = [];
    for (const s of spellings) responses.push(await post(s));
    expect(responses.map((r) => r.status)).toEqual([201, 200, 200, 200]);
    for (const r of responses) {
      expect(r.body).toMatchObject({
        client_order_id: expectedId,
        symbol: 'AAPL',
        qty: 10,
        order_type: 'limit',
        limit_price: '150.5',
      });
    }
    expect(await ordersWithId(expectedId)).toBe(1);
    expect((await auditFor(expectedId)).map((a) => a.action)).toEqual(['order.accepted']);
  });

  it('folds idempotency_key into the hash: different keys make different orders, the same key the same one', async () => {
    const base = { symbol: 'NVDA', side: 'buy', qty: 3 };
    const a = await post({ ...base, idempotency_key: 'run-2026.03.10:a' });
    const b = await post({ ...base, idempotency_key: 'run-2026.03.10:b' });
    const plain = await post(base);
    const aAgain = await post({ ...base, idempotency_key: 'run-2026.03.10:a' });

    expect([a.status, b.status, plain.status, aAgain.status]).toEqual([201, 201, 201, 200]);
    const common = { symbol: 'NVDA', side: 'buy' as const, qty: '3', date: '2026-03-10' };
    expect(a.body.client_order_id).toBe(expectedClientOrderId({ ...common, idempotencyKey: 'run-2026.03.10:a' }));
    expect(b.body.client_order_id).toBe(expectedClientOrderId({ ...common, idempotencyKey: 'run-2026.03.10:b' }));
    expect(plain.body.client_order_id).toBe(expectedClientOrderId(common));
    expect(new Set([a.body.client_order_id, b.body.client_order_id, plain.body.client_order_id]).size).toBe(3);
    expect(aAgain.body.client_order_id).toBe(a.body.client_order_id);

    const rows: Array<{ n: string }> = await t.db.query(`SELECT count(*) AS n FROM orders WHERE symbol = 'NVDA'`);
    expect(Number(rows[0].n)).toBe(3);
  });

  it("uses the caller's client_order_id verbatim, over an idempotency_key", async () => {
    const cid = 'Desk-7:run_1.A-b';
    const body = { symbol: 'TSLA', side: 'buy', qty: 2, client_order_id: cid };
    const first = await post(body);
    expect(first.status).toBe(201);
    expect(first.body.client_order_id).toBe(cid);
    const withKey = await post({ ...body, idempotency_key: 'ignored-key' });
    expect(withKey.status).toBe(200);
    expect(withKey.body.client_order_id).toBe(cid);
    expect(await ordersWithId(cid)).toBe(1);

    const detail = await t.http.get(`${ORDERS}/${cid}`).set(auth);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ client_order_id: cid, symbol: 'TSLA', qty: 2 });
  });

  it('answers 409 CLIENT_ORDER_ID_CONFLICT naming the differing fields when one id names different terms', async () => {
    const cid = 'conflict-order-1';
    const first = await post({ symbol: 'AMD', side: 'buy', qty: 5, client_order_id: cid });
    expect(first.status).toBe(201);
    const before = await countRows(t.db, 'audit_log');

    const res = await post({
      symbol: 'AMD',
      side: 'sell',
      qty: 6,
      order_type: 'limit',
      limit_price: '99.5',
      client_order_id: cid,
    });
    const body = expectError(res, 409, 'CLIENT_ORDER_ID_CONFLICT');
    expect(body.details).toMatchObject({ client_order_id: cid });
    expect((body.details!.differing_fields as string[]).slice().sort()).toEqual(
      ['limit_price', 'order_type', 'qty', 'side'].sort(),
    );
    for (const f of ['side', 'qty']) expect(body.message).toContain(f);

    // The original order is untouched and the refusal created nothing.
    const rows = await t.db.query('SELECT side, qty::text AS qty, order_type FROM orders WHERE client_order_id = $1', [
      cid,
    ]);
    expect(rows).toEqual([{ side: 'buy', qty: '5', order_type: 'market' }]);
    expect(await countRows(t.db, 'audit_log')).toBe(before);
  });

  it('answers 409 naming time_in_force when a derived id matches an order with another time in force', async () => {
    const body = { symbol: 'IBM', side: 'buy', qty: 4 };
    const day = await post(body);
    expect(day.status).toBe(201);
    const gtc = await post({ ...body, time_in_force: 'gtc' });
    const err = expectError(gtc, 409, 'CLIENT_ORDER_ID_CONFLICT');
    expect(err.details!.differing_fields).toEqual(['time_in_force']);
    expect(err.details!.client_order_id).toBe(day.body.client_order_id);
  });

  it('takes the trade date from the UTC clock: 23:59:59.999Z and 00:00:00.000Z the next day are different orders', async () => {
    const body = { symbol: 'AAPL', side: 'buy', qty: 10, order_type: 'limit', limit_price: 150.5 };
    const terms = { symbol: 'AAPL', side: 'buy' as const, qty: '10', limitPrice: '150.5' };

    clock.set('2026-06-30T23:59:59.999Z');
    const late = await post(body);
    clock.set('2026-07-01T00:00:00.000Z');
    const early = await post(body);
    const earlyAgain = await post(body);

    expect([late.status, early.status, earlyAgain.status]).toEqual([201, 201, 200]);
    expect(late.body.client_order_id).toBe(expectedClientOrderId({ ...terms, date: '2026-06-30' }));
    expect(early.body.client_order_id).toBe(expectedClientOrderId({ ...terms, date: '2026-07-01' }));
    expect(late.body.client_order_id).not.toBe(early.body.client_order_id);
    expect(late.body.created_at).toBe('2026-06-30T23:59:59.999Z');
    expect(early.body.created_at).toBe('2026-07-01T00:00:00.000Z');
  });

  it('uses the UTC date, not a local one, for an instant late in the US trading day', async () => {
    // 20:30 in New York on 2026-03-10 is already 2026-03-11 in UTC.
    clock.set('2026-03-11T00:30:00.000Z');
    const res = await post({ symbol: 'GE', side: 'sell', qty: 1 });
    expect(res.status).toBe(201);
    expect(res.body.client_order_id).toBe(
      expectedClientOrderId({ symbol: 'GE', side: 'sell', qty: '1', date: '2026-03-11' }),
    );
  });
});
