import { createHash } from 'node:crypto';
import { ManualClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { TwapDispatcher } from '../../../src/twap/twap-dispatcher.service';
import { createKey } from '../../support/api-keys';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectError, expectInvalidFields } from '../../support/http-expect';
import { eventually } from '../../support/wait';

const SLICE = '/api/v1/orders/slice';
const T0 = '2026-01-02T15:00:00.000Z';

/** POST /orders/slice, GET and DELETE /orders/{parent_id}/slices: the API (DRY_RUN, sim broker). */
describe('TWAP plans API (e2e)', () => {
  const clock = new ManualClock(new Date(T0));
  const market = new SimMarketDataProvider({ clock, referencePrices: { AAPL: '187.3' } });
  let t: TestApp;
  let dispatcher: TwapDispatcher;

  beforeAll(async () => {
    t = await startTestApp({ clock, marketData: market });
    dispatcher = t.app.get(TwapDispatcher);
  });
  afterAll(async () => {
    await t?.close();
  });

  const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 24);

  it('answers 201 with the plan: slices summing to qty, ids <parent>-s<i>, slice 0 due at once', async () => {
    const res = await t.http
      .post(SLICE)
      .set(auth)
      .send({ symbol: 'aapl', side: 'buy', qty: 10, duration_minutes: 3, interval_seconds: 60 });
    expect(res.status).toBe(201);
    const parent = hash('AAPL|buy|10|None|None|alpha_baseline|2026-01-02|twap:3:60');
    expect(res.body).toMatchObject({
      parent_order_id: parent,
      parent_strategy_id: 'alpha_baseline',
      symbol: 'AAPL',
      side: 'buy',
      total_qty: 10,
      total_slices: 3,
      duration_minutes: 3,
      interval_seconds: 60,
      status: expect.stringMatching(/^(scheduled|active)$/), // a pass may claim slice 0 at once
      arrival_price: '187.3',
      filled_qty: 0,
      slippage_bps: null,
    });
    expect(res.body.slices).toEqual([
      expect.objectContaining({ slice_num: 0, qty: 4, client_order_id: `${parent}-s0`, scheduled_time: T0 }),
      expect.objectContaining({ slice_num: 1, qty: 3, client_order_id: `${parent}-s1` }),
      expect.objectContaining({ slice_num: 2, qty: 3, scheduled_time: '2026-01-02T15:02:00.000Z' }),
    ]);
    const audit = await t.db.query(
      `SELECT actor FROM audit_log WHERE action = 'twap.accepted' AND client_order_id = $1`,
      [parent],
    );
    expect(audit).toHaveLength(1);
  });

  it('answers the same request on the same day with 200 and the same plan; an idempotency_key makes a second one', async () => {
    const body = { symbol: 'AAPL', side: 'buy', qty: '10', duration_minutes: 3, interval_seconds: 60 };
    const again = await t.http.post(SLICE).set(auth).send(body);
    expect(again.status).toBe(200);
    expect(again.body.parent_order_id).toBe(hash('AAPL|buy|10|None|None|alpha_baseline|2026-01-02|twap:3:60'));
    const keyed = await t.http
      .post(SLICE)
      .set(auth)
      .send({ ...body, idempotency_key: 'second' });
    expect(keyed.status).toBe(201);
    expect(keyed.body.parent_order_id).toBe(hash('AAPL|buy|10|None|None|alpha_baseline|2026-01-02|twap:3:60|second'));
    const plans = await t.db.query(`SELECT count(*)::int AS n FROM twap_plans`);
    expect(plans[0].n).toBe(2);
  });

  it('GET /orders/{parent}/slices shows live progress; GET /orders/{id} is not shadowed', async () => {
    const created = await t.http
      .post(SLICE)
      .set(auth)
      .send({ symbol: 'AAPL', side: 'sell', qty: 6, duration_minutes: 1, interval_seconds: 30 });
    const parent = created.body.parent_order_id as string;
    await dispatcher.tick();
    const plan = await t.http.get(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(plan.status).toBe(200);
    expect(plan.body.status).toBe('active');
    expect(plan.body.slices[0]).toMatchObject({ status: 'dry_run', sent_qty: 3 });
    expect(plan.body.slices[1]).toMatchObject({ status: 'scheduled', sent_qty: null });
    const child = await t.http.get(`/api/v1/orders/${parent}-s0`).set(auth);
    expect(child.status).toBe(200);
    expect(child.body).toMatchObject({ parent_order_id: parent, slice_num: 0, total_slices: 2, qty: 3 });
    expectError(
      await t.http.get(`/api/v1/orders/ffffffffffffffffffffffff/slices`).set(auth),
      404,
      'TWAP_PLAN_NOT_FOUND',
    );
  });

  it('names every bad field in one 422', async () => {
    expectInvalidFields(await t.http.post(SLICE).set(auth).send({ symbol: 'AAPL', side: 'buy', qty: 10 }), [
      'duration_minutes',
    ]);
    expectInvalidFields(
      await t.http
        .post(SLICE)
        .set(auth)
        .send({ symbol: 'AAPL', side: 'buy', qty: 1.5, duration_minutes: 0, interval_seconds: 0 }),
      ['qty', 'duration_minutes', 'interval_seconds'],
    );
    expectInvalidFields(
      await t.http.post(SLICE).set(auth).send({ symbol: 'AAPL', side: 'buy', qty: 10, duration_minutes: 391 }),
      ['duration_minutes'],
    );
    expectInvalidFields(
      await t.http
        .post(SLICE)
        .set(auth)
        .send({ symbol: 'AAPL', side: 'buy', qty: 10, duration_minutes: 1, interval_seconds: 3601 }),
      ['interval_seconds'],
    );
    expectInvalidFields(
      await t.http
        .post(SLICE)
        .set(auth)
        .send({ symbol: 'AAPL', side: 'buy', qty: 10, duration_minutes: 1, order_type: 'limit' }),
      ['limit_price'],
    );
    // 5 minutes every 60 s is 5 slices: 4 shares cannot fill them.
    expectInvalidFields(
      await t.http.post(SLICE).set(auth).send({ symbol: 'AAPL', side: 'buy', qty: 4, duration_minutes: 5 }),
      ['qty'],
    );
    expectInvalidFields(
      await t.http
        .post(SLICE)
        .set(auth)
        .send({ symbol: 'AAPL', side: 'buy', qty: 4, duration_minutes: 1, client_order_id: 'x', color: 'red' }),
      ['client_order_id', 'color'],
    );
  });

  it('refuses a slice larger than MAX_SLICE_PCT_OF_ADV of ADV, saying what fits', async () => {
    market.setAdv('MSFT', '3000');
    const res = await t.http
      .post(SLICE)
      .set(auth)
      .send({ symbol: 'MSFT', side: 'buy', qty: 600, duration_minutes: 10, interval_seconds: 60 });
    const body = expectError(res, 422, 'SLICE_EXCEEDS_ADV_PCT');
    expect(body.details).toMatchObject({
      largest_slice: 60,
      max_slice_qty: 30,
      max_interval_seconds: 31,
      min_duration_minutes: 20,
    });
    const ok = await t.http
      .post(SLICE)
      .set(auth)
      .send({ symbol: 'MSFT', side: 'buy', qty: 600, duration_minutes: 10, interval_seconds: 31 });
    expect(ok.status).toBe(201);
  });

  it('refuses a plan when ADV is unknown (ADV_UNAVAILABLE), audited, nothing written', async () => {
    market.setNoData('NOADV', { adv: true });
    const res = await t.http.post(SLICE).set(auth).send({ symbol: 'NOADV', side: 'buy', qty: 10, duration_minutes: 1 });
    expectError(res, 422, 'ADV_UNAVAILABLE');
    const rows = await t.db.query(`SELECT count(*)::int AS n FROM twap_plans WHERE symbol = 'NOADV'`);
    expect(rows[0].n).toBe(0);
    const audit = await t.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE reason_code = 'ADV_UNAVAILABLE'`);
    expect(audit[0].n).toBe(1);
  });

  it('with LIQUIDITY_CHECK_ENABLED=false, accepts a plan whose ADV is unknown', async () => {
    const lax = await startTestApp({
      clock,
      marketData: market,
      env: { LIQUIDITY_CHECK_ENABLED: 'false', DATABASE_POOL_SIZE: '3' },
    });
    try {
      market.setNoData('NOADV2', { adv: true });
      const res = await lax.http
        .post(SLICE)
        .set(auth)
        .send({ symbol: 'NOADV2', side: 'buy', qty: 10, duration_minutes: 1 });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ symbol: 'NOADV2', total_slices: 1 });
    } finally {
      await lax.close();
    }
  });

  it('checks the whole plan: fat-finger on the total refuses it with the order reason code, audited', async () => {
    const put = await t.http
      .put('/api/v1/fat-finger/thresholds')
      .set(auth)
      .send({ operator: 'ops', symbol_overrides: { FFQ: { max_qty: '50' } } });
    expect(put.status).toBe(200);
    // Each slice (10 shares) is within the bound; the plan's 100 are not.
    const res = await eventually(
      () => t.http.post(SLICE).set(auth).send({ symbol: 'FFQ', side: 'buy', qty: 100, duration_minutes: 10 }),
      (r) => r.status === 422,
    );
    expectError(res, 422, 'FAT_FINGER_MAX_QTY');
    const rows = await t.db.query(`SELECT count(*)::int AS n FROM twap_plans WHERE symbol = 'FFQ'`);
    expect(rows[0].n).toBe(0);
    const audit = await t.db.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE symbol = 'FFQ' AND reason_code = 'FAT_FINGER_MAX_QTY'`,
    );
    expect(audit[0].n).toBe(1);
    const fits = await t.http.post(SLICE).set(auth).send({ symbol: 'FFQ', side: 'buy', qty: 50, duration_minutes: 10 });
    expect(fits.status).toBe(201);
  });

  it('refuses a plan while the kill switch is engaged (503), and accepts it after', async () => {
    const engage = await t.http
      .post('/api/v1/kill-switch/engage')
      .set(auth)
      .send({ operator: 'ops', reason: 'twap test' });
    expect(engage.status).toBe(200);
    const body = { symbol: 'KSW', side: 'buy', qty: 10, duration_minutes: 1 };
    expectError(await t.http.post(SLICE).set(auth).send(body), 503, 'KILL_SWITCH_ENGAGED');
    await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'ops' });
    expect((await t.http.post(SLICE).set(auth).send(body)).status).toBe(201);
  });

  it('scopes plans by strategy: 403 to submit for another strategy, 404 to read or cancel its plan', async () => {
    const beta = await createKey(t, ['SUBMIT_ORDER', 'VIEW_ORDERS', 'CANCEL_ORDER'], ['beta']);
    expectError(
      await t.http.post(SLICE).set(beta.auth).send({ symbol: 'AAPL', side: 'buy', qty: 10, duration_minutes: 1 }),
      403,
      'STRATEGY_FORBIDDEN',
    );
    const other = await t.http
      .post(SLICE)
      .set(auth)
      .send({ symbol: 'AAPL', side: 'buy', qty: 12, duration_minutes: 1 });
    const parent = other.body.parent_order_id as string;
    expectError(await t.http.get(`/api/v1/orders/${parent}/slices`).set(beta.auth), 404, 'TWAP_PLAN_NOT_FOUND');
    expectError(await t.http.delete(`/api/v1/orders/${parent}/slices`).set(beta.auth), 404, 'TWAP_PLAN_NOT_FOUND');
    const viewer = await createKey(t, ['VIEW_ORDERS'], ['*']);
    expectError(
      await t.http.post(SLICE).set(viewer.auth).send({ symbol: 'AAPL', side: 'buy', qty: 10, duration_minutes: 1 }),
      403,
      'PERMISSION_DENIED',
    );
  });

  it('DELETE stops the unsent slices, is idempotent, and the dispatcher sends nothing more', async () => {
    const created = await t.http
      .post(SLICE)
      .set(auth)
      .send({ symbol: 'AAPL', side: 'buy', qty: 30, duration_minutes: 3, idempotency_key: 'to-cancel' });
    const parent = created.body.parent_order_id as string;
    await dispatcher.tick(); // slice 0 goes (dry_run: already ended)
    const first = await t.http.delete(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ parent_order_id: parent, canceled_slices: 2, canceled_orders: 0 });
    const second = await t.http.delete(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(second.body).toEqual(first.body);
    clock.advance(180_000);
    await dispatcher.tick();
    const plan = await t.http.get(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(plan.body.status).toBe('canceled');
    expect(plan.body.slices.map((s: { status: string }) => s.status)).toEqual(['dry_run', 'canceled', 'canceled']);
    const children = await t.db.query(`SELECT count(*)::int AS n FROM orders WHERE client_order_id LIKE $1`, [
      `${parent}-s%`,
    ]);
    expect(children[0].n).toBe(1);
    clock.set(T0);
  });
});
