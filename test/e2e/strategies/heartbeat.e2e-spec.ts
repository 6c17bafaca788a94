import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { ManualClock, SystemClock } from '../../../src/infra/clock/clock';
import { LeaderElection } from '../../../src/infra/leader/leader-election.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectInvalidFields } from '../../support/http-expect';
import { eventually } from '../../support/wait';
import { HeartbeatMonitor } from '../../../src/strategies/heartbeat-monitor.service';

/**
 * The dead-man's switch on two replicas sharing one ManualClock: time is
 * advanced, never slept through; the leader's scan (every second) fires it.
 */
describe("dead-man's switch (e2e)", () => {
  let a: TestApp;
  let b: TestApp;
  const clock = new ManualClock(new Date());
  const sim = new SimBrokerClient({ clock: new SystemClock() });

  beforeAll(async () => {
    const env = { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1', LIQUIDITY_CHECK_ENABLED: 'false' };
    a = await startTestApp({ clock, broker: sim, env });
    b = await startTestApp({ clock, broker: sim, env, database: a.database });
  });
  /** The replica whose application a test closed (its test connection and database are left to afterAll). */
  let stopped: TestApp | undefined;
  afterAll(async () => {
    if (b && b !== stopped) await b.close();
    else await b?.db.destroy();
    if (a && a !== stopped) await a.close();
    else if (a) {
      await a.db.destroy();
      await a.database.drop();
    }
  });

  const isLeader = (t: TestApp) => t.app.get(LeaderElection).isLeader();
  const leader = async () => {
    const t = await eventually(
      async () => [a, b].find(isLeader),
      (t) => t !== undefined,
    );
    if (!t) throw new Error('no leader elected');
    return t;
  };
  const arm = (t: TestApp, id: string, timeout: unknown) =>
    t.http.post(`/api/v1/strategies/${id}/heartbeat`).set(auth).send({ timeout_seconds: timeout });
  const strategy = async (t: TestApp, id: string) => (await t.http.get(`/api/v1/strategies/${id}`).set(auth)).body;
  /** A resting limit buy (never crosses): open at the broker. */
  const resting = async (t: TestApp, id: string) => {
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'DMS', side: 'buy', qty: 1, order_type: 'limit', limit_price: '1', strategy_id: id });
    expect(res.status).toBe(201);
    return res.body.client_order_id as string;
  };
  const statusOf = async (id: string) =>
    (await b.db.query(`SELECT status FROM orders WHERE client_order_id = $1`, [id]))[0].status as string;
  /**
   * Runs the scan the Scheduler runs every second, now, on both replicas: the
   * deadlines are judged by the test clock, so nothing waits for a timer.
   */
  const scanNow = async () => {
    for (const t of [a, b]) await t.app.get(HeartbeatMonitor).scan();
  };

  it('timeout_seconds must be an integer from 5 to 3600 (422 naming it)', async () => {
    for (const bad of [4, 3601, 'abc', 10.5, null])
      expectInvalidFields(await arm(a, 'hb_bad', bad), ['timeout_seconds']);
  });

  it('fires when not re-armed in time: cancels the open orders and halts (HEARTBEAT_EXPIRED), audited, on the stream', async () => {
    const order = await resting(a, 'hb_fire');
    await eventually(
      () => statusOf(order),
      (s) => s === 'new' || s === 'accepted',
    );
    const armed = await arm(a, 'hb_fire', 10);
    expect(armed.status).toBe(200);
    expect(armed.body.heartbeat).toEqual({
      timeout_seconds: 10,
      last_at: clock.now().toISOString(),
      expires_at: new Date(clock.now().getTime() + 10_000).toISOString(),
    });
    clock.advance(9_000);
    // Re-armed before the deadline: due 10 s from now.
    expect((await arm(b, 'hb_fire', 10)).status).toBe(200);
    clock.advance(9_000);
    await scanNow();
    expect((await strategy(a, 'hb_fire')).state).toBe('active');
    clock.advance(1_000);
    const halted = await eventually(
      () => strategy(b, 'hb_fire'),
      (s) => s.state === 'halted',
    );
    expect(halted).toMatchObject({
      state: 'halted',
      state_reason: 'HEARTBEAT_EXPIRED',
      state_changed_by: 'system',
      heartbeat: null,
    });
    expect(
      await eventually(
        () => statusOf(order),
        (s) => s === 'canceled',
      ),
    ).toBe('canceled');
    const [audit] = await b.db.query(
      `SELECT actor, reason_code FROM audit_log WHERE action = 'strategy.halted' AND strategy_id = 'hb_fire'`,
    );
    expect(audit).toEqual({ actor: 'system', reason_code: 'HEARTBEAT_EXPIRED' });
    const [cancelAll] = await b.db.query(
      `SELECT details FROM audit_log WHERE action = 'orders.cancel_all' AND strategy_id = 'hb_fire'`,
    );
    expect(cancelAll.details).toMatchObject({ reason: 'HEARTBEAT_EXPIRED', requested: 1 });
    const events = await b.db.query(
      `SELECT status, payload FROM order_events WHERE event_type = 'strategy.state' AND strategy_id = 'hb_fire'`,
    );
    expect(events).toEqual([{ status: 'halted', payload: expect.objectContaining({ reason: 'HEARTBEAT_EXPIRED' }) }]);
    // Its new orders are refused now.
    const refused = await a.http
      .post('/api/v1/orders')
      .set(auth)
      .send({
        client_order_id: `hb-after-${Date.now()}`,
        symbol: 'DMS',
        side: 'buy',
        qty: 1,
        order_type: 'limit',
        limit_price: '1',
        strategy_id: 'hb_fire',
      });
    expect(refused.body.error).toBe('STRATEGY_HALTED');
  });

  it("fires: also cancels the strategy's live TWAP plans (their unsent slices never go out)", async () => {
    const created = await a.http.post('/api/v1/orders/slice').set(auth).send({
      strategy_id: 'hb_twap',
      symbol: 'DMS',
      side: 'buy',
      qty: 10,
      order_type: 'limit',
      limit_price: '1',
      duration_minutes: 10,
      interval_seconds: 60,
    });
    expect(created.status).toBe(201);
    const parent = created.body.parent_order_id as string;
    expect((await arm(a, 'hb_twap', 5)).status).toBe(200);
    clock.advance(5_000);
    await eventually(
      () => strategy(b, 'hb_twap'),
      (s) => s.state === 'halted',
    );
    const plan = await eventually(
      async () => (await b.http.get(`/api/v1/orders/${parent}/slices`).set(auth)).body,
      (p) => p.status === 'canceled',
    );
    expect(plan.status).toBe('canceled');
    // Every slice not sent before the halt is canceled; none is left to send later.
    const unsent = plan.slices.filter((sl: { sent_qty: number | null }) => sl.sent_qty === null);
    expect(unsent.length).toBeGreaterThan(0);
    expect(unsent.every((sl: { status: string }) => sl.status === 'canceled')).toBe(true);
    const [audit] = await b.db.query(
      `SELECT actor FROM audit_log WHERE action = 'twap.canceled' AND client_order_id = $1`,
      [parent],
    );
    expect(audit).toEqual({ actor: 'system' });
  });

  it('an expiry interrupted between the halt and the cancels: the next scans cancel what it left open', async () => {
    const order = await resting(a, 'hb_crash');
    await eventually(
      () => statusOf(order),
      (s) => s === 'new' || s === 'accepted',
    );
    // What the halt alone leaves behind when the process stops before the cancel-all.
    await a.db.query(
      `INSERT INTO strategy_states (strategy_id, state, reason, changed_by, changed_at, version)
       VALUES ('hb_crash', 'halted', 'HEARTBEAT_EXPIRED', 'system', now(), nextval('strategy_state_version'))`,
    );
    expect(
      await eventually(
        () => statusOf(order),
        (s) => s === 'canceled',
      ),
    ).toBe('canceled');
    const [cancelAll] = await b.db.query(
      `SELECT actor, details FROM audit_log WHERE action = 'orders.cancel_all' AND strategy_id = 'hb_crash'`,
    );
    expect(cancelAll).toMatchObject({ actor: 'system', details: { reason: 'HEARTBEAT_EXPIRED', requested: 1 } });
    // A strategy halted for another reason keeps its open orders.
    const kept = await resting(a, 'hb_other_halt');
    await eventually(
      () => statusOf(kept),
      (s) => s === 'new' || s === 'accepted',
    );
    await a.db.query(
      `INSERT INTO strategy_states (strategy_id, state, reason, changed_by, changed_at, version)
       VALUES ('hb_other_halt', 'halted', 'manual review', 'ops', now(), nextval('strategy_state_version'))`,
    );
    await scanNow();
    expect(await statusOf(kept)).not.toBe('canceled');
  });

  it('disarmed, it never fires', async () => {
    expect((await arm(a, 'hb_off', 5)).status).toBe(200);
    const off = await b.http.delete('/api/v1/strategies/hb_off/heartbeat').set(auth);
    expect(off.status).toBe(200);
    expect(off.body.heartbeat).toBeNull();
    clock.advance(60_000);
    await scanNow();
    expect((await strategy(a, 'hb_off')).state).toBe('active');
  });

  it('fires after a change of leader: the deadline is persisted, the new leader scans it', async () => {
    const first = await leader();
    const other = first === a ? b : a;
    expect((await arm(first, 'hb_move', 30)).status).toBe(200);
    stopped = first;
    await first.app.close();
    await eventually(
      async () => isLeader(other),
      (v) => v,
      15_000,
    );
    clock.advance(31_000);
    const halted = await eventually(
      () => strategy(other, 'hb_move'),
      (s) => s.state === 'halted',
    );
    expect(halted).toMatchObject({ state: 'halted', state_reason: 'HEARTBEAT_EXPIRED' });
  });
});
