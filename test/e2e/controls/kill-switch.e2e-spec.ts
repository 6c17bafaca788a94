import { hashApiKey } from '../../../src/auth/api-key.service';
import { StateStore } from '../../../src/infra/state/state-store';
import { KillSwitchRepository } from '../../../src/risk/kill-switch/kill-switch.repository';
import { KILL_SWITCH_KEY } from '../../../src/risk/kill-switch/kill-switch.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/**
 * The kill switch (docs/risk-and-safety.md#fail-closed, docs/api.md): durable in PostgreSQL, propagated to
 * every replica within 1 s, refusing new orders with 503 while cancels pass.
 */
describe('kill switch (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  const engage = (t: TestApp, body: Record<string, unknown> = { reason: 'runaway strategy', operator: 'jane' }) =>
    t.http.post('/api/v1/kill-switch/engage').set(auth).send(body);
  const disengage = (t: TestApp, body: Record<string, unknown> = { operator: 'jane' }) =>
    t.http.post('/api/v1/kill-switch/disengage').set(auth).send(body);
  const status = (t: TestApp) => t.http.get('/api/v1/kill-switch/status').set(auth);
  const submit = (t: TestApp, body: Record<string, unknown>) => t.http.post('/api/v1/orders').set(auth).send(body);
  const count = async (t: TestApp, sql: string, params: unknown[] = []) => Number((await t.db.query(sql, params))[0].n);

  beforeAll(async () => {
    a = await startTestApp();
    // A second replica of the same deployment: the same database, Redis key prefix and channels.
    b = await startTestApp({ database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await disengage(a);
  });

  it('refuses a new order with 503 KILL_SWITCH_ENGAGED, audits it, writes no order; after release the same request is accepted', async () => {
    expect(
      (await engage(a, { reason: 'runaway strategy', operator: 'jane', details: { ticket: 'INC-7' } })).status,
    ).toBe(200);
    const order = { symbol: 'KS', side: 'buy', qty: 5, client_order_id: 'ks-blocked-1', strategy_id: 'alpha' };

    const refused = await submit(a, order);
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({
      error: 'KILL_SWITCH_ENGAGED',
      message: expect.stringContaining('runaway strategy'),
      details: expect.objectContaining({ client_order_id: 'ks-blocked-1', engaged_by: 'jane' }),
      request_id: expect.any(String),
    });
    expect(await count(a, `SELECT count(*) AS n FROM orders WHERE client_order_id = 'ks-blocked-1'`)).toBe(0);
    const audit = await a.db.query(
      `SELECT action, actor, client_order_id, strategy_id, symbol, reason_code, details
         FROM audit_log WHERE client_order_id = 'ks-blocked-1' ORDER BY id`,
    );
    expect(audit).toEqual([
      {
        action: 'order.rejected',
        actor: 'admin',
        client_order_id: 'ks-blocked-1',
        strategy_id: 'alpha',
        symbol: 'KS',
        reason_code: 'KILL_SWITCH_ENGAGED',
        details: expect.objectContaining({ side: 'buy', qty: '5' }),
      },
    ]);

    expect((await disengage(a, { operator: 'jane', notes: 'fixed' })).status).toBe(200);
    const accepted = await submit(a, order);
    expect(accepted.status).toBe(201);
    expect(accepted.body.client_order_id).toBe('ks-blocked-1');
  });

  it('answers a replay of an order that already exists with that order, engaged or not', async () => {
    const order = { symbol: 'KSR', side: 'buy', qty: 2, client_order_id: 'ks-replay-1' };
    expect((await submit(a, order)).status).toBe(201);
    expect((await engage(a)).status).toBe(200);
    const replay = await submit(a, order);
    expect(replay.status).toBe(200);
    expect(replay.body.client_order_id).toBe('ks-replay-1');
    // The same id with other terms would be a new order: refused.
    expect((await submit(a, { ...order, qty: 3 })).status).toBe(503);
    const refusals = await count(
      a,
      `SELECT count(*) AS n FROM audit_log WHERE client_order_id = 'ks-replay-1' AND action = 'order.rejected'`,
    );
    expect(refusals).toBe(1);
  });

  it('reports the status with its history, newest first; engage and disengage are idempotent', async () => {
    const before = (await status(a)).body.history.length as number;
    const first = await engage(a, { reason: 'halt', operator: 'op.one', details: { why: 'test' } });
    expect(first.status).toBe(200);
    const again = await engage(a, { reason: 'another reason', operator: 'op.two' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ engaged: true, engaged_by: 'op.one', reason: 'halt' });
    expect(again.body.engaged_at).toBe(first.body.engaged_at);

    const engagedNow = (await status(a)).body;
    expect(engagedNow).toEqual({
      engaged: true,
      engaged_at: expect.any(String),
      engaged_by: 'op.one',
      reason: 'halt',
      details: { why: 'test' },
      disengaged_at: null,
      disengaged_by: null,
      history: expect.any(Array),
    });

    expect((await disengage(a, { operator: 'op.three', notes: 'all clear' })).status).toBe(200);
    const twice = await disengage(a, { operator: 'op.four' });
    expect(twice.status).toBe(200);
    const s = twice.body;
    expect(s).toMatchObject({
      engaged: false,
      engaged_at: null,
      engaged_by: null,
      reason: null,
      details: null,
      disengaged_by: 'op.three',
    });
    expect(Date.parse(s.disengaged_at)).toBeGreaterThanOrEqual(Date.parse(engagedNow.engaged_at));
    expect(s.history).toHaveLength(before + 2);
    expect(s.history.slice(0, 2)).toEqual([
      { action: 'disengage', at: s.disengaged_at, operator: 'op.three', notes: 'all clear' },
      { action: 'engage', at: engagedNow.engaged_at, operator: 'op.one', reason: 'halt' },
    ]);

    const audit = await a.db.query(
      `SELECT action, actor, details FROM audit_log WHERE action LIKE 'kill_switch.%' AND actor LIKE 'op.%' ORDER BY id`,
    );
    expect(audit).toEqual([
      {
        action: 'kill_switch.engaged',
        actor: 'op.one',
        details: expect.objectContaining({ reason: 'halt', api_key: 'admin' }),
      },
      {
        action: 'kill_switch.disengaged',
        actor: 'op.three',
        details: expect.objectContaining({ notes: 'all clear', api_key: 'admin' }),
      },
    ]);
  });

  it('names missing and unknown fields with 422', async () => {
    const res = await a.http.post('/api/v1/kill-switch/engage').set(auth).send({ operator: ' ', extra: 1 });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('VALIDATION_FAILED');
    const fields = (res.body.details.fields as Array<{ field: string }>).map((f) => f.field).sort();
    expect(fields).toEqual(['extra', 'operator', 'reason']);
    const empty = await a.http.post('/api/v1/kill-switch/disengage').set(auth).send({});
    expect(empty.status).toBe(422);
    expect(empty.body.details.fields.map((f: { field: string }) => f.field)).toEqual(['operator']);
    expect((await status(a)).body.engaged).toBe(false);
  });

  it('needs MANAGE_RISK (403 otherwise, 401 without a key)', async () => {
    const key = 'ks-trader-key-0123456789abcdef';
    await a.db.query(
      `INSERT INTO api_keys (name, key_hash, key_prefix, permissions, strategies, created_by)
       VALUES ('trader', $1, 'ks-trader', ARRAY['SUBMIT_ORDER','CANCEL_ORDER','VIEW_ORDERS'], ARRAY['*'], 'test')`,
      [hashApiKey(key)],
    );
    const trader = { Authorization: `Bearer ${key}` };
    const body = { reason: 'x', operator: 'mallory' };
    expect((await a.http.post('/api/v1/kill-switch/engage').set(trader).send(body)).status).toBe(403);
    expect((await a.http.post('/api/v1/kill-switch/disengage').set(trader).send({ operator: 'm' })).status).toBe(403);
    expect((await a.http.get('/api/v1/kill-switch/status').set(trader)).status).toBe(403);
    expect((await a.http.post('/api/v1/kill-switch/engage').send(body)).status).toBe(401);
    // The key is valid for orders, and the switch did not move.
    expect((await a.http.post('/api/v1/orders').set(trader).send({ symbol: 'RBAC', side: 'buy', qty: 1 })).status).toBe(
      201,
    );
    expect((await status(a)).body.engaged).toBe(false);
  });

  it('an engage on one replica is honoured by the other within 1 s, and so is the release', async () => {
    const body = { symbol: 'PROP', side: 'buy', qty: 1, idempotency_key: 'probe' };
    expect((await submit(b, { ...body, client_order_id: 'ks-prop-0' })).status).toBe(201);

    const t0 = Date.now();
    expect((await engage(a)).status).toBe(200);
    let n = 0;
    const refused = await eventually(
      async () => (await submit(b, { ...body, client_order_id: `ks-prop-${++n}` })).body.error as string | undefined,
      (e) => e === 'KILL_SWITCH_ENGAGED',
      2_000,
    );
    const engagedAfterMs = Date.now() - t0;
    expect(refused).toBe('KILL_SWITCH_ENGAGED');
    expect(engagedAfterMs).toBeLessThanOrEqual(1_000);

    const t1 = Date.now();
    expect((await disengage(b)).status).toBe(200);
    const passed = await eventually(
      async () => (await submit(a, { ...body, client_order_id: `ks-prop-${++n}` })).status,
      (s) => s === 201,
      2_000,
    );
    const releasedAfterMs = Date.now() - t1;
    expect(passed).toBe(201);
    expect(releasedAfterMs).toBeLessThanOrEqual(1_000);
    process.stdout.write(`kill-switch propagation: engage ${engagedAfterMs} ms, release ${releasedAfterMs} ms\n`);
  });

  it('is durable: a gateway started later on the same database is still engaged', async () => {
    expect((await engage(a, { reason: 'durable', operator: 'jane' })).status).toBe(200);
    // A new process with an empty Redis namespace: only PostgreSQL knows.
    const c = await startTestApp({ database: a.database });
    try {
      expect((await status(c)).body).toMatchObject({ engaged: true, reason: 'durable' });
      const res = await submit(c, { symbol: 'DUR', side: 'buy', qty: 1 });
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('KILL_SWITCH_ENGAGED');
    } finally {
      await c.close();
    }
  });

  it('fails closed: with the state unreadable new orders get 503 SAFETY_STATE_UNAVAILABLE, cancels still pass', async () => {
    const placed = await submit(a, { symbol: 'FC', side: 'buy', qty: 2, client_order_id: 'ks-fc-open' });
    expect(placed.status).toBe(201);

    // Both sources of the refresher fail: the PostgreSQL read and the Redis key (only the kill-switch key,
    // so the rest of the app keeps its store).
    jest.spyOn(a.app.get(KillSwitchRepository), 'readState').mockRejectedValue(new Error('state source down'));
    const store = a.app.get(StateStore);
    const realGet = store.get.bind(store);
    jest
      .spyOn(store, 'get')
      .mockImplementation((key) => (key === KILL_SWITCH_KEY ? Promise.reject(new Error('redis down')) : realGet(key)));

    // The last good read ages past the 1 s limit; then the replica no longer trusts it.
    await new Promise((r) => setTimeout(r, 1_100));
    const refused = await submit(a, { symbol: 'FC', side: 'buy', qty: 1, client_order_id: 'ks-fc-new' });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({
      error: 'SAFETY_STATE_UNAVAILABLE',
      details: { client_order_id: 'ks-fc-new' },
    });
    expect(await count(a, `SELECT count(*) AS n FROM orders WHERE client_order_id = 'ks-fc-new'`)).toBe(0);
    expect(
      await count(
        a,
        `SELECT count(*) AS n FROM audit_log WHERE client_order_id = 'ks-fc-new' AND reason_code = 'SAFETY_STATE_UNAVAILABLE'`,
      ),
    ).toBeGreaterThanOrEqual(1);

    const cancel = await a.http.post('/api/v1/orders/ks-fc-open/cancel').set(auth);
    expect(cancel.status).toBe(200);

    // Once the state can be read again, orders flow.
    jest.restoreAllMocks();
    const back = await eventually(
      () => submit(a, { symbol: 'FC', side: 'buy', qty: 1, client_order_id: 'ks-fc-new' }),
      (r) => r.status === 201,
      3_000,
    );
    expect(back.status).toBe(201);
  });
});
