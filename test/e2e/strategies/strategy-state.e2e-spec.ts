import { auth, startTestApp, TestApp } from '../../support/app';
import { expectError, expectInvalidFields } from '../../support/http-expect';
import { eventually } from '../../support/wait';
import { filledOrder } from './fills';

/** PUT /strategies/{id}/state on one replica, enforced by the pre-trade pipeline of both within 1 s. */
describe('strategy states on two replicas (e2e)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    b = await startTestApp({ database: a.database });
    // gamma holds 10 RED: selling up to 10 is reduce-only.
    await filledOrder(a, { strategyId: 'gamma', symbol: 'RED', side: 'buy', qty: '10', price: '5' });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const setState = (t: TestApp, body: Record<string, unknown>, id = 'gamma') =>
    t.http.put(`/api/v1/strategies/${id}/state`).set(auth).send(body);
  let n = 0;
  const order = (t: TestApp, side: 'buy' | 'sell', strategy = 'gamma') =>
    t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({
        client_order_id: `st-${++n}-${Date.now()}`,
        symbol: 'RED',
        side,
        qty: 1,
        order_type: 'limit',
        limit_price: '5',
        strategy_id: strategy,
      });
  /** Within 1 s on `t`, the order gets `status`. */
  const within1s = async (t: TestApp, side: 'buy' | 'sell', status: number) => {
    const started = Date.now();
    const res = await eventually(
      () => order(t, side),
      (r) => r.status === status,
      1_000,
    );
    expect(res.status).toBe(status);
    expect(Date.now() - started).toBeLessThanOrEqual(1_200);
    return res;
  };

  it('halted: every new order of the strategy is refused on both replicas (503 STRATEGY_HALTED), audited', async () => {
    const res = await setState(a, { state: 'halted', reason: 'desk review', operator: 'jane' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      strategy_id: 'gamma',
      state: 'halted',
      state_reason: 'desk review',
      state_changed_by: 'jane',
    });
    for (const t of [a, b]) {
      const refused = await within1s(t, 'buy', 503);
      expect(refused.body).toMatchObject({
        error: 'STRATEGY_HALTED',
        details: { strategy_id: 'gamma', reason: 'desk review' },
      });
      // Reduce-only orders too.
      expectError(await order(t, 'sell'), 503, 'STRATEGY_HALTED');
    }
    // Other strategies trade on.
    expect((await order(b, 'buy', 'delta')).status).toBe(201);
    const [audit] = await a.db.query(
      `SELECT actor, details FROM audit_log WHERE action = 'strategy.halted' AND strategy_id = 'gamma' ORDER BY id DESC LIMIT 1`,
    );
    expect(audit).toMatchObject({ actor: 'jane', details: { from: 'active', to: 'halted', reason: 'desk review' } });
    const [event] = await a.db.query(
      `SELECT status FROM order_events WHERE event_type = 'strategy.state' AND strategy_id = 'gamma' ORDER BY id DESC LIMIT 1`,
    );
    expect(event).toEqual({ status: 'halted' });
    const refusals = await a.db.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE action = 'order.rejected' AND reason_code = 'STRATEGY_HALTED'`,
    );
    expect(refusals[0].n).toBeGreaterThanOrEqual(4);
  });

  it('reducing: only reduce-only orders pass (503 STRATEGY_REDUCING), on both replicas', async () => {
    expect((await setState(b, { state: 'reducing' })).status).toBe(200);
    for (const t of [a, b]) {
      const refused = await within1s(t, 'buy', 503);
      expect(refused.body.error).toBe('STRATEGY_REDUCING');
      expect((await order(t, 'sell')).status).toBe(201);
    }
  });

  it('active again: orders pass on both replicas; the same state twice records nothing', async () => {
    expect((await setState(a, { state: 'active' })).body).toMatchObject({ state: 'active', state_reason: null });
    for (const t of [a, b]) await within1s(t, 'buy', 201);
    const count = async () =>
      (
        await a.db.query(
          `SELECT count(*)::int AS n FROM audit_log WHERE action LIKE 'strategy.%' AND strategy_id = 'gamma'`,
        )
      )[0].n as number;
    const before = await count();
    expect((await setState(a, { state: 'active' })).status).toBe(200);
    expect(await count()).toBe(before);
  });

  it('a strategy given a state exists (GET /strategies/{id}); bad bodies name the field', async () => {
    expect((await setState(a, { state: 'halted' }, 'fresh_one')).status).toBe(200);
    expect((await a.http.get('/api/v1/strategies/fresh_one').set(auth)).body).toMatchObject({
      state: 'halted',
      activity: 'idle',
      open_orders: 0,
      positions: [],
    });
    expectInvalidFields(await setState(a, { state: 'paused' }), ['state']);
    expectInvalidFields(await setState(a, { state: 'halted', reason: '   ' }), ['reason']);
    expectInvalidFields(await setState(a, { state: 'halted' }, 'bad%20id'), ['id']);
  });
});
