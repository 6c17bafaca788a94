import { createKey } from '../../support/api-keys';
import { auth, startTestApp, TestApp } from '../../support/app';

/** POST /manual/orders (docs/operator-controls.md#manual-orders): the one door, plus reason and operator. */
describe('manual orders (e2e)', () => {
  let t: TestApp;
  const submit = (body: Record<string, unknown>, as = auth) => t.http.post('/api/v1/manual/orders').set(as).send(body);

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records {source: "manual", reason, operator} in the metadata; a repeat is 409 DUPLICATE_ORDER with the order', async () => {
    const body = { symbol: 'man1', side: 'buy', qty: 3, reason: 'hedge after fill error', operator: 'jane.doe' };
    const res = await submit(body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ symbol: 'MAN1', side: 'buy', qty: 3, status: 'dry_run' });
    const id = res.body.client_order_id as string;
    const detail = (await t.http.get(`/api/v1/orders/${id}`).set(auth)).body;
    expect(detail.metadata).toEqual({ source: 'manual', reason: 'hedge after fill error', operator: 'jane.doe' });

    const repeat = await submit(body);
    expect(repeat.status).toBe(409);
    expect(repeat.body).toMatchObject({
      error: 'DUPLICATE_ORDER',
      details: { client_order_id: id, order: { client_order_id: id, symbol: 'MAN1', status: 'dry_run' } },
    });
    expect((await t.db.query(`SELECT count(*)::int AS n FROM orders WHERE symbol = 'MAN1'`))[0].n).toBe(1);
    // Another order needs an idempotency_key (same id rules as POST /orders).
    const second = await submit({ ...body, idempotency_key: 'second' });
    expect(second.status).toBe(201);
    expect(second.body.client_order_id).not.toBe(id);
  });

  it("records the calling key's name as operator when none is given", async () => {
    const res = await submit({ symbol: 'MAN2', side: 'sell', qty: 1, reason: 'test' });
    expect(res.status).toBe(201);
    const detail = (await t.http.get(`/api/v1/orders/${res.body.client_order_id}`).set(auth)).body;
    expect(detail.metadata).toMatchObject({ source: 'manual', operator: 'admin' });
  });

  it('names every bad field at once: reason required, order fields, unknown fields', async () => {
    const res = await submit({ symbol: 'MAN3', side: 'hold', qty: 0, bogus: 1, operator: ' ' });
    expect(res.status).toBe(422);
    expect(res.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'bogus',
      'operator',
      'qty',
      'reason',
      'side',
    ]);
    expect((await submit({ symbol: 'MAN3', side: 'buy', qty: 1, reason: '  ' })).status).toBe(422);
    expect((await t.db.query(`SELECT count(*)::int AS n FROM orders WHERE symbol = 'MAN3'`))[0].n).toBe(0);
  });

  it('passes the pre-trade checks like any order: the kill switch refuses it with 503', async () => {
    await t.http.post('/api/v1/kill-switch/engage').set(auth).send({ reason: 'halt', operator: 'jane' });
    try {
      const res = await submit({ symbol: 'MAN4', side: 'buy', qty: 1, reason: 'test' });
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('KILL_SWITCH_ENGAGED');
    } finally {
      await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'jane' });
    }
  });

  it("is scoped like POST /orders: a key cannot place another strategy's order, and needs SUBMIT_ORDER", async () => {
    const scoped = await createKey(t, ['SUBMIT_ORDER'], ['alpha']);
    const viewer = await createKey(t, ['VIEW_ORDERS']);
    const other = await submit({ symbol: 'MAN5', side: 'buy', qty: 1, reason: 'x', strategy_id: 'beta' }, scoped.auth);
    expect(other.status).toBe(403);
    expect(other.body.error).toBe('STRATEGY_FORBIDDEN');
    const own = await submit({ symbol: 'MAN5', side: 'buy', qty: 1, reason: 'x', strategy_id: 'alpha' }, scoped.auth);
    expect(own.status).toBe(201);
    expect((await submit({ symbol: 'MAN5', side: 'buy', qty: 2, reason: 'x' }, viewer.auth)).status).toBe(403);
  });
});
