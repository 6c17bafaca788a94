import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { ManualClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { TwapDispatcher } from '../../../src/twap/twap-dispatcher.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { eventually } from '../../support/wait';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

const SLICE = '/api/v1/orders/slice';

interface SliceBody {
  slice_num: number;
  client_order_id: string;
  status: string;
  sent_qty: number | null;
  filled_qty: number;
}
interface PlanBody {
  parent_order_id: string;
  status: string;
  total_qty: number;
  sent_qty: number;
  filled_qty: number;
  filled_avg_price: string | null;
  arrival_price: string | null;
  slippage_bps: string | null;
  shortfall_qty: number | null;
  slices: SliceBody[];
}

/**
 * TWAP plans executed against the fake Alpaca (DRY_RUN=false). Time is a
 * ManualClock: the tests move it to each slice's due time and run a
 * dispatcher pass, instead of sleeping through the intervals.
 */
describe('TWAP execution against the broker (e2e)', () => {
  const fake = new FakeAlpacaServer();
  let clock: ManualClock;
  let market: SimMarketDataProvider;
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;
  let dispatcher: TwapDispatcher;
  let T0 = 0;

  beforeAll(async () => {
    await fake.start();
    // Whole seconds, so scheduled times compare exactly.
    clock = new ManualClock(new Date(Math.floor(Date.now() / 1000) * 1000));
    fake.setClock(() => clock.now());
    market = new SimMarketDataProvider({ clock });
    alpaca = alpacaClientOf(fake);
    t = await startTestApp({
      clock,
      broker: alpaca,
      marketData: market,
      env: { DRY_RUN: 'false', RECONCILIATION_INTERVAL_SECONDS: '3600', ORDER_POLL_INTERVAL_SECONDS: '1' },
    });
    dispatcher = t.app.get(TwapDispatcher);
  });

  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    await fake.stop();
  });

  afterEach(() => {
    fake.delayResponse(0);
    expect(fake.internalErrors()).toEqual([]);
  });

  async function start(body: Record<string, unknown>): Promise<string> {
    T0 = clock.now().getTime();
    const res = await t.http.post(SLICE).set(auth).send(body);
    if (res.status !== 201) throw new Error(`plan refused: ${res.status} ${res.text}`);
    return res.body.parent_order_id as string;
  }

  /** Moves the clock to `seconds` after the plan started and runs a dispatcher pass. */
  async function at(seconds: number): Promise<void> {
    clock.set(new Date(T0 + seconds * 1000));
    await dispatcher.tick();
  }

  async function plan(parent: string): Promise<PlanBody> {
    const res = await t.http.get(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(res.status).toBe(200);
    return res.body as PlanBody;
  }

  /** Passes until the plan ends (fills arrive through the broker's stream). */
  function settled(parent: string): Promise<PlanBody> {
    return eventually(
      async () => {
        await dispatcher.tick();
        return plan(parent);
      },
      (p) => p.status === 'completed' || p.status === 'expired' || p.status === 'canceled',
      15_000,
    );
  }

  function childCount(parent: string): Promise<number> {
    return t.db
      .query(`SELECT count(*)::int AS n FROM orders WHERE client_order_id LIKE $1`, [`${parent}-s%`])
      .then((r: Array<{ n: number }>) => r[0].n);
  }

  it('runs a plan to completion: each slice sent once, filled; VWAP and slippage against arrival', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'TWA');
    fake.setPrice('TWA', '100.5');
    market.setPrice('TWA', '100');
    const parent = await start({ symbol: 'TWA', side: 'buy', qty: 10, duration_minutes: 3, interval_seconds: 60 });
    await at(0);
    await at(60);
    await at(120);
    const p = await settled(parent);
    expect(p).toMatchObject({
      status: 'completed',
      filled_qty: 10,
      arrival_price: '100',
      filled_avg_price: '100.5',
      slippage_bps: '50.00',
      shortfall_qty: 0,
    });
    expect(p.slices.map((s) => [s.status, s.sent_qty, s.filled_qty])).toEqual([
      ['filled', 4, 4],
      ['filled', 3, 3],
      ['filled', 3, 3],
    ]);
    for (const s of p.slices) expect(fake.postOrderCount(s.client_order_id)).toBe(1);
    expect(await childCount(parent)).toBe(3);
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toMatch(/execution_gateway_twap_slice_lag_seconds_count \d+/);
    expect(metrics.text).toMatch(/execution_gateway_twap_slices_total\{outcome="sent"\} \d+/);
  });

  it('carries a slice the broker rejected into the next slice', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'TWB');
    const parent = await start({ symbol: 'TWB', side: 'buy', qty: 9, duration_minutes: 3, interval_seconds: 60 });
    await at(0);
    fake.rejectNext(1);
    await at(60);
    const mid = await plan(parent);
    expect(mid.slices[1]).toMatchObject({ status: 'rejected', sent_qty: 3, filled_qty: 0 });
    // The plan's sent_qty is what is working or filled: the rejected order counts nothing.
    expect(mid).toMatchObject({ sent_qty: 3, total_qty: 9 });
    await at(120);
    const p = await settled(parent);
    expect(p.slices.map((s) => [s.status, s.sent_qty])).toEqual([
      ['filled', 3],
      ['rejected', 3],
      ['filled', 6],
    ]);
    expect(p).toMatchObject({ status: 'completed', filled_qty: 9, shortfall_qty: 0, sent_qty: 9 });
    expect(p.sent_qty).toBeLessThanOrEqual(p.total_qty);
  });

  it('blocks the slice due while the kill switch is engaged, and carries it forward', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'TWC');
    const parent = await start({ symbol: 'TWC', side: 'sell', qty: 9, duration_minutes: 3, interval_seconds: 60 });
    await at(0);
    const engage = await t.http.post('/api/v1/kill-switch/engage').set(auth).send({ operator: 'ops', reason: 'twap' });
    expect(engage.status).toBe(200);
    try {
      await at(60);
    } finally {
      await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'ops' });
    }
    const mid = await plan(parent);
    expect(mid.slices[1]).toMatchObject({ status: 'blocked_kill_switch', sent_qty: null, filled_qty: 0 });
    await at(120);
    const p = await settled(parent);
    expect(p.slices.map((s) => [s.status, s.sent_qty])).toEqual([
      ['filled', 3],
      ['blocked_kill_switch', null],
      ['filled', 6],
    ]);
    expect(p.filled_qty).toBe(9);
    expect(p).toMatchObject({ sent_qty: 9, total_qty: 9 });
    expect(fake.postOrderCount(`${parent}-s1`)).toBe(0);
    // The blocked slice is an order row in its blocked status, linked to its plan, never sent.
    const [row] = await t.db.query(
      `SELECT status, parent_order_id, slice_num, total_slices, scheduled_time, error_message, broker_order_id,
              submitted_at
         FROM orders WHERE client_order_id = $1`,
      [`${parent}-s1`],
    );
    expect(row).toMatchObject({
      status: 'blocked_kill_switch',
      parent_order_id: parent,
      slice_num: 1,
      total_slices: 3,
      broker_order_id: null,
      submitted_at: null,
    });
    expect(new Date(row.scheduled_time as string).getTime()).toBe(T0 + 60_000);
    expect(row.error_message).toEqual(expect.any(String));
    const child = await t.http.get(`/api/v1/orders/${parent}-s1`).set(auth);
    expect(child.body).toMatchObject({ status: 'blocked_kill_switch', parent_order_id: parent, slice_num: 1 });
    // Audited once, as a block with its reason code (not as an accepted order, not as a plain refusal).
    const audit = await t.db.query(
      `SELECT action, reason_code, details FROM audit_log WHERE client_order_id = $1 ORDER BY id`,
      [`${parent}-s1`],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'order.blocked',
      reason_code: 'KILL_SWITCH_ENGAGED',
      details: { status: 'blocked_kill_switch', parent_order_id: parent, slice_num: 1 },
    });
    const events = await t.db.query(`SELECT event_type, status FROM order_events WHERE client_order_id = $1`, [
      `${parent}-s1`,
    ]);
    expect(events).toEqual([{ event_type: 'order.status', status: 'blocked_kill_switch' }]);
  });

  it("writes a child order's plan link with the order itself, before the broker answers", async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'TWL');
    const parent = await start({ symbol: 'TWL', side: 'buy', qty: 4, duration_minutes: 2, interval_seconds: 60 });
    // The broker takes 1.5 s to answer slice 0: while the door waits, its order row is already linked.
    fake.delayResponse(1500, { route: 'POST /v2/orders', before: true });
    const pass = at(0);
    const row = await eventually(
      async () =>
        (await t.db.query(
          `SELECT status, parent_order_id, slice_num, total_slices, scheduled_time FROM orders
            WHERE client_order_id = $1`,
          [`${parent}-s0`],
        )) as Array<Record<string, unknown>>,
      (rows) => rows.length > 0,
      5_000,
    );
    expect(row[0]).toMatchObject({ status: 'pending_new', parent_order_id: parent, slice_num: 0, total_slices: 2 });
    expect(new Date(row[0].scheduled_time as string).getTime()).toBe(T0);
    await pass;
    fake.delayResponse(0);
    await at(60);
    const p = await settled(parent);
    expect(p).toMatchObject({ status: 'completed', filled_qty: 4 });
    const unlinked = await t.db.query(
      `SELECT count(*)::int AS n FROM orders WHERE client_order_id LIKE $1 AND parent_order_id IS NULL`,
      [`${parent}-s%`],
    );
    expect(unlinked[0].n).toBe(0);
  });

  it('lets no request set a plan link: the fields are refused on POST /orders', async () => {
    const res = await t.http.post('/api/v1/orders').set(auth).send({
      symbol: 'TWL',
      side: 'buy',
      qty: 1,
      order_type: 'market',
      client_order_id: 'link-probe-1',
      parent_order_id: 'someone-elses-plan',
      slice_num: 0,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await t.db.query(`SELECT 1 FROM orders WHERE client_order_id = 'link-probe-1'`)).toHaveLength(0);
  });

  it('after an outage longer than the grace: overdue slices expire (audited), their quantity goes to the next one sent', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'TWD');
    const parent = await start({ symbol: 'TWD', side: 'buy', qty: 12, duration_minutes: 4, interval_seconds: 60 });
    await at(0);
    // Nothing runs from 0 to 150 s: slice 1 (due 60) is 90 s late, slice 2 (due 120) 30 s.
    await at(150);
    await at(180);
    const p = await settled(parent);
    expect(p.slices.map((s) => [s.status, s.sent_qty])).toEqual([
      ['filled', 3],
      ['expired', null],
      ['filled', 6],
      ['filled', 3],
    ]);
    expect(p).toMatchObject({ status: 'completed', filled_qty: 12, shortfall_qty: 0 });
    expect(fake.postOrderCount(`${parent}-s1`)).toBe(0);
    const audit = await t.db.query(
      `SELECT details FROM audit_log WHERE action = 'twap.slice_expired' AND client_order_id = $1`,
      [`${parent}-s1`],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ late_ms: 90_000, grace_seconds: 60 });
  });

  it('what cannot be carried any more is the shortfall: completed with filled_qty < total_qty, audited', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'TWE');
    const parent = await start({ symbol: 'TWE', side: 'buy', qty: 9, duration_minutes: 3, interval_seconds: 60 });
    await at(0);
    await at(300); // every later slice is past the grace
    const p = await settled(parent);
    expect(p.slices.map((s) => s.status)).toEqual(['filled', 'expired', 'expired']);
    expect(p).toMatchObject({ status: 'completed', filled_qty: 3, shortfall_qty: 6 });
    const audit = await t.db.query(
      `SELECT reason_code, details FROM audit_log WHERE action = 'twap.completed' AND client_order_id = $1`,
      [parent],
    );
    expect(audit).toEqual([
      { reason_code: 'TWAP_SHORTFALL', details: { total_qty: 9, filled_qty: 3, shortfall_qty: 6 } },
    ]);
  });

  it('DELETE racing a due slice: the slice in flight is sent once and its order cancelled; the rest never go', async () => {
    fake.setFillBehaviour({ mode: 'never' }, 'TWF');
    const parent = await start({ symbol: 'TWF', side: 'buy', qty: 9, duration_minutes: 3, interval_seconds: 60 });
    await at(0);
    fake.delayResponse(400, { count: 1 });
    clock.set(new Date(T0 + 60_000));
    const pass = dispatcher.tick();
    await eventually(
      () => t.db.query(`SELECT state FROM twap_slices WHERE client_order_id = $1`, [`${parent}-s1`]),
      (r: Array<{ state: string }>) => r[0]?.state === 'sending',
    );
    const del = await t.http.delete(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ parent_order_id: parent, canceled_slices: 1 });
    await pass;
    await at(120);
    const p = await eventually(
      () => plan(parent),
      (b) => b.slices[0].status === 'canceled' && b.slices[1].status === 'canceled',
      15_000,
    );
    expect(p.status).toBe('canceled');
    expect(p.slices.map((s) => s.status)).toEqual(['canceled', 'canceled', 'canceled']);
    expect(fake.postOrderCount(`${parent}-s0`)).toBe(1);
    expect(fake.postOrderCount(`${parent}-s1`)).toBe(1);
    expect(fake.postOrderCount(`${parent}-s2`)).toBe(0);
    expect(await childCount(parent)).toBe(2);
    const again = await t.http.delete(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(again.body).toEqual({ parent_order_id: parent, canceled_slices: 1, canceled_orders: 2 });
  });

  it('claims a slice just ahead and sends it at its time, never before; DELETE meanwhile stops it unsent', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'TWH');
    const parent = await start({ symbol: 'TWH', side: 'buy', qty: 9, duration_minutes: 3, interval_seconds: 60 });
    await at(0);
    // 300 ms before slice 1 is due: the pass claims it and holds it until its time.
    clock.set(new Date(T0 + 59_700));
    const early = dispatcher.tick();
    await eventually(
      () => t.db.query(`SELECT state FROM twap_slices WHERE client_order_id = $1`, [`${parent}-s1`]),
      (r: Array<{ state: string }>) => r[0]?.state === 'sending',
    );
    expect(fake.postOrderCount(`${parent}-s1`)).toBe(0);
    clock.set(new Date(T0 + 60_000));
    await early;
    expect(fake.postOrderCount(`${parent}-s1`)).toBe(1);
    const [sent] = await t.db.query(`SELECT sent_at FROM twap_slices WHERE client_order_id = $1`, [`${parent}-s1`]);
    expect(new Date(sent.sent_at as string).getTime()).toBeGreaterThanOrEqual(T0 + 60_000);

    // Slice 2, claimed ahead, is held when the plan is deleted: it is never sent.
    clock.set(new Date(T0 + 119_700));
    const held = dispatcher.tick();
    await eventually(
      () => t.db.query(`SELECT state FROM twap_slices WHERE client_order_id = $1`, [`${parent}-s2`]),
      (r: Array<{ state: string }>) => r[0]?.state === 'sending',
    );
    const del = await t.http.delete(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ parent_order_id: parent, canceled_slices: 1 });
    clock.set(new Date(T0 + 120_000));
    await held;
    const p = await plan(parent);
    expect(p.status).toBe('canceled');
    expect(p.slices[2]).toMatchObject({ status: 'canceled', sent_qty: null });
    expect(fake.postOrderCount(`${parent}-s2`)).toBe(0);
    expect(await childCount(parent)).toBe(2);
  });
});
