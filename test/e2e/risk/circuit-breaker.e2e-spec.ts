import { hashApiKey } from '../../../src/auth/api-key.service';
import { SystemClock } from '../../../src/infra/clock/clock';
import { StateStore } from '../../../src/infra/state/state-store';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { DailyPnlService } from '../../../src/positions/daily-pnl.service';
import { CircuitBreakerRepository } from '../../../src/risk/circuit-breaker/circuit-breaker.repository';
import { CIRCUIT_BREAKER_KEY, CircuitBreakerService } from '../../../src/risk/circuit-breaker/circuit-breaker.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/**
 * The circuit breaker (docs/risk-and-safety.md#fail-closed, docs/api.md): manual trip and reset with an
 * operator, audited; automatic trips (broker errors, daily loss) with
 * operator `system`; automatic trips on stale market data and on drawdown,
 * where reduce-only orders still pass and only an operator's reset clears it;
 * every replica sees a trip within 1 s; an unreadable
 * state fails closed; disabled, it never blocks and cannot be tripped.
 */
const trip = (t: TestApp, body: Record<string, unknown> = { operator: 'jane', reason: 'venue outage' }) =>
  t.http.post('/api/v1/circuit-breaker/trip').set(auth).send(body);
const reset = (t: TestApp, body: Record<string, unknown> = { operator: 'jane' }) =>
  t.http.post('/api/v1/circuit-breaker/reset').set(auth).send(body);
const status = (t: TestApp) => t.http.get('/api/v1/circuit-breaker/status').set(auth);
const submit = (t: TestApp, body: Record<string, unknown>) => t.http.post('/api/v1/orders').set(auth).send(body);
const breaker = (t: TestApp) => t.app.get(CircuitBreakerService);
const statusBody = async (t: TestApp) => (await status(t)).body as Record<string, unknown>;
/** The automatic-trip monitor checking every second, and prices never cached. */
const FAST = { CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS: '1', MARKET_DATA_PRICE_CACHE_MS: '0' };

describe('circuit breaker (e2e)', () => {
  let a: TestApp;
  let b: TestApp;

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
    await reset(a);
  });

  it('is open at first; a manual trip and a reset are idempotent, audited and listed newest first', async () => {
    const initial = await status(a);
    expect(initial.status).toBe(200);
    expect(initial.body).toMatchObject({ state: 'open', enabled: true, tripped_at: null, reason_code: null });

    const first = await trip(a, { operator: 'op.one', reason: 'venue outage' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      state: 'tripped',
      enabled: true,
      tripped_at: expect.any(String),
      tripped_by: 'op.one',
      reason: 'venue outage',
      reason_code: 'MANUAL',
      details: null,
      reset_at: null,
      reset_by: null,
      history: expect.any(Array),
    });
    const again = await trip(a, { operator: 'op.two', reason: 'another' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ tripped_by: 'op.one', tripped_at: first.body.tripped_at });
    expect(again.body.history).toHaveLength(first.body.history.length);

    const released = await reset(a, { operator: 'op.three', notes: 'venue back' });
    expect(released.status).toBe(200);
    const twice = await reset(a, { operator: 'op.four' });
    expect(twice.body).toMatchObject({
      state: 'open',
      tripped_at: null,
      tripped_by: null,
      reason: null,
      reason_code: null,
      reset_by: 'op.three',
    });
    expect(twice.body.history.slice(0, 2)).toEqual([
      { action: 'reset', at: twice.body.reset_at, operator: 'op.three', notes: 'venue back' },
      {
        action: 'trip',
        at: first.body.tripped_at,
        operator: 'op.one',
        reason: 'venue outage',
        reason_code: 'MANUAL',
      },
    ]);
    expect(twice.body.history).toHaveLength(first.body.history.length + 1);

    const audit = await a.db.query(
      `SELECT action, actor, reason_code, details FROM audit_log
        WHERE action LIKE 'circuit_breaker.%' AND actor LIKE 'op.%' ORDER BY id`,
    );
    expect(audit).toEqual([
      {
        action: 'circuit_breaker.tripped',
        actor: 'op.one',
        reason_code: 'MANUAL',
        details: expect.objectContaining({ reason: 'venue outage', api_key: 'admin' }),
      },
      {
        action: 'circuit_breaker.reset',
        actor: 'op.three',
        reason_code: null,
        details: expect.objectContaining({ notes: 'venue back', api_key: 'admin' }),
      },
    ]);
    // The history is append-only in the database.
    await expect(a.db.query(`DELETE FROM circuit_breaker_events`)).rejects.toThrow();
  });

  it('refuses new orders with 503 CIRCUIT_BREAKER_TRIPPED while tripped, audited as order.rejected', async () => {
    expect((await trip(a, { operator: 'jane', reason: 'too many errors' })).status).toBe(200);
    const order = { symbol: 'CB', side: 'buy', qty: 5, client_order_id: 'cb-blocked-1', strategy_id: 'alpha' };
    const res = await submit(a, order);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      error: 'CIRCUIT_BREAKER_TRIPPED',
      message: expect.stringContaining('too many errors'),
    });
    const rows = await a.db.query(
      `SELECT action, reason_code FROM audit_log WHERE client_order_id = 'cb-blocked-1' ORDER BY id`,
    );
    expect(rows).toEqual([{ action: 'order.rejected', reason_code: 'CIRCUIT_BREAKER_TRIPPED' }]);
    expect(
      (await a.db.query(`SELECT count(*)::int AS n FROM orders WHERE client_order_id = 'cb-blocked-1'`))[0].n,
    ).toBe(0);

    expect((await reset(a, { operator: 'jane' })).status).toBe(200);
    expect((await submit(a, order)).status).toBe(201);
  });

  it('a trip on one replica is seen by the other within 1 s, and so is the reset', async () => {
    expect(breaker(b).current()).toMatchObject({ readable: true, tripped: false });
    const t0 = Date.now();
    expect((await trip(a)).status).toBe(200);
    const seen = await eventually(
      async () => breaker(b).current(),
      (v) => v.tripped,
      3_000,
    );
    const tripAfterMs = Date.now() - t0;
    expect(seen).toMatchObject({ readable: true, tripped: true, reasonCode: 'MANUAL', trippedBy: 'jane' });
    expect(tripAfterMs).toBeLessThanOrEqual(1_000);

    const t1 = Date.now();
    expect((await reset(b)).status).toBe(200);
    const cleared = await eventually(
      async () => breaker(a).current(),
      (v) => !v.tripped,
      3_000,
    );
    const resetAfterMs = Date.now() - t1;
    expect(cleared.tripped).toBe(false);
    expect(resetAfterMs).toBeLessThanOrEqual(1_000);
    process.stdout.write(`circuit-breaker propagation: trip ${tripAfterMs} ms, reset ${resetAfterMs} ms\n`);
  });

  it('names bad fields with 422 and needs MANAGE_RISK', async () => {
    const bad = await a.http.post('/api/v1/circuit-breaker/trip').set(auth).send({ operator: ' ', extra: 1 });
    expect(bad.status).toBe(422);
    expect((bad.body.details.fields as Array<{ field: string }>).map((f) => f.field).sort()).toEqual([
      'extra',
      'operator',
      'reason',
    ]);
    const noReason = await a.http.post('/api/v1/circuit-breaker/trip').set(auth).send({});
    expect(noReason.status).toBe(422);
    expect((noReason.body.details.fields as Array<{ field: string }>).map((f) => f.field)).toEqual(['reason']);

    const key = 'cb-trader-key-0123456789abcdef';
    await a.db.query(
      `INSERT INTO api_keys (name, key_hash, key_prefix, permissions, strategies, created_by)
       VALUES ('cb-trader', $1, 'cb-trader', ARRAY['SUBMIT_ORDER','VIEW_ORDERS'], ARRAY['*'], 'test')`,
      [hashApiKey(key)],
    );
    const trader = { Authorization: `Bearer ${key}` };
    expect(
      (await a.http.post('/api/v1/circuit-breaker/trip').set(trader).send({ operator: 'm', reason: 'x' })).status,
    ).toBe(403);
    expect((await a.http.post('/api/v1/circuit-breaker/reset').set(trader).send({ operator: 'm' })).status).toBe(403);
    expect((await a.http.get('/api/v1/circuit-breaker/status').set(trader)).status).toBe(403);
    expect((await a.http.get('/api/v1/circuit-breaker/status')).status).toBe(401);
    expect((await status(a)).body.state).toBe('open');
  });

  it('fails closed: with the state unreadable for over a second, current() is unreadable and orders are refused', async () => {
    expect(breaker(a).current().readable).toBe(true);
    jest.spyOn(a.app.get(CircuitBreakerRepository), 'readState').mockRejectedValue(new Error('state source down'));
    const store = a.app.get(StateStore);
    const realGet = store.get.bind(store);
    jest
      .spyOn(store, 'get')
      .mockImplementation((key) =>
        key === CIRCUIT_BREAKER_KEY ? Promise.reject(new Error('redis down')) : realGet(key),
      );

    await new Promise((r) => setTimeout(r, 1_100));
    expect(breaker(a).current().readable).toBe(false);

    const res = await submit(a, { symbol: 'CBFC', side: 'buy', qty: 1, client_order_id: 'cb-fc-new' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: 'SAFETY_STATE_UNAVAILABLE', details: { state: 'circuit_breaker' } });

    jest.restoreAllMocks();
    const back = await eventually(
      async () => breaker(a).current(),
      (v) => v.readable,
      3_000,
    );
    expect(back.readable).toBe(true);
  });
});

describe('circuit breaker disabled (e2e)', () => {
  let c: TestApp;
  beforeAll(async () => {
    c = await startTestApp({ env: { CIRCUIT_BREAKER_ENABLED: 'false', CIRCUIT_BREAKER_BROKER_ERRORS: '1' } });
  });
  afterAll(async () => {
    await c?.close();
  });

  it('reports enabled:false, refuses a manual trip with 409 CIRCUIT_BREAKER_DISABLED and never blocks', async () => {
    expect((await status(c)).body).toMatchObject({ state: 'open', enabled: false });
    const res = await trip(c);
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('CIRCUIT_BREAKER_DISABLED');
    expect(breaker(c).current()).toMatchObject({ readable: true, tripped: false });
    const count = await c.db.query(`SELECT count(*)::int AS n FROM circuit_breaker_events`);
    expect(count[0].n).toBe(0);
  });
});

describe('circuit breaker automatic trips (e2e)', () => {
  let d: TestApp;
  const sim = new SimBrokerClient({ clock: new SystemClock() });

  beforeAll(async () => {
    d = await startTestApp({
      broker: sim,
      env: {
        DRY_RUN: 'false',
        BROKER: 'sim',
        CIRCUIT_BREAKER_BROKER_ERRORS: '3',
        CIRCUIT_BREAKER_BROKER_ERROR_WINDOW_SECONDS: '60',
        CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS: '1',
        DAILY_LOSS_LIMIT: '100',
      },
    });
  });
  afterAll(async () => {
    await d?.close();
  });

  const order = (id: string) => ({ symbol: 'CBE', side: 'buy', qty: 1, client_order_id: id });

  it('trips on a burst of broker errors (rejections do not count), with operator system', async () => {
    sim.failNext('rejected', 3);
    for (let i = 0; i < 3; i++) {
      const res = await submit(d, order(`cb-rej-${i}`));
      expect([201, 422]).toContain(res.status);
    }
    // Counting is asynchronous: give a wrongly counted rejection the time to trip.
    await new Promise((r) => setTimeout(r, 500));
    expect(breaker(d).current().tripped).toBe(false);

    sim.failNext('unknown_outcome', 3);
    for (let i = 0; i < 3; i++) {
      const res = await submit(d, order(`cb-err-${i}`));
      expect(res.status).toBe(202);
    }
    const s = await eventually(
      async () => (await status(d)).body,
      (body) => body.state === 'tripped',
      5_000,
    );
    expect(s).toMatchObject({
      state: 'tripped',
      tripped_by: 'system',
      reason_code: 'BROKER_ERRORS',
      details: expect.objectContaining({ threshold: 3, window_seconds: 60 }),
    });
    const audit = await d.db.query(
      `SELECT actor, reason_code FROM audit_log WHERE action = 'circuit_breaker.tripped' ORDER BY id`,
    );
    expect(audit).toEqual([{ actor: 'system', reason_code: 'BROKER_ERRORS' }]);

    // Stays tripped until a manual reset.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await status(d)).body.state).toBe('tripped');
    expect((await reset(d, { operator: 'jane', notes: 'broker back' })).body).toMatchObject({
      state: 'open',
      reset_by: 'jane',
    });
  });

  it("trips on the day's realized + unrealized loss reaching DAILY_LOSS_LIMIT", async () => {
    expect((await status(d)).body.state).toBe('open');
    await d.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status, filled_qty)
       VALUES ('cb-loss-1', 'alpha', 'LOSS', 'sell', 10, 'market', 'day', 'filled', 10)`,
    );
    await d.db.query(
      `INSERT INTO fills (execution_id, client_order_id, strategy_id, symbol, side, qty, price, cum_qty, realized_pl, source, executed_at)
       VALUES ('cb-loss-exec-1', 'cb-loss-1', 'alpha', 'LOSS', 'sell', 10, 90, 10, -100.01, 'test', now())`,
    );
    const s = await eventually(
      async () => (await status(d)).body,
      (body) => body.state === 'tripped',
      8_000,
    );
    expect(s).toMatchObject({
      state: 'tripped',
      tripped_by: 'system',
      reason_code: 'DAILY_LOSS',
      details: expect.objectContaining({ total_pnl: expect.stringMatching(/^-100\.01/), daily_loss_limit: '100' }),
    });
    // Every replica keeps today's figure in memory for the DAILY_LOSS_LIMIT check.
    const latest = await eventually(
      async () => d.app.get(DailyPnlService).latest(),
      (v) => v !== null && v.realized === '-100.01',
      5_000,
    );
    expect(latest).toMatchObject({ realized: '-100.01' });
  });
});

describe('circuit breaker: automatic trip on stale market data (e2e)', () => {
  let t: TestApp;
  let market: SimMarketDataProvider;

  beforeAll(async () => {
    market = new SimMarketDataProvider({ clock: new SystemClock() });
    t = await startTestApp({ env: { ...FAST, CIRCUIT_BREAKER_STALE_DATA_SECONDS: '60' }, marketData: market });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('trips when a held symbol has no fresh price; reduce-only passes; reset clears it', async () => {
    await t.db.query(`INSERT INTO positions (symbol, qty, avg_entry_price) VALUES ('STALE', 10, 100)`);
    // Fresh for a while: no trip.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await statusBody(t)).state).toBe('open');

    market.setTimestamp('STALE', new Date(Date.now() - 61_000));
    const tripped = await eventually(
      () => statusBody(t),
      (s) => s.state === 'tripped',
      10_000,
    );
    expect(tripped).toMatchObject({ state: 'tripped', reason_code: 'STALE_MARKET_DATA', tripped_by: 'system' });

    const add = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'OTHER', side: 'buy', qty: 1, order_type: 'limit', limit_price: '1' });
    expect(add.status).toBe(503);
    expect(add.body.error).toBe('CIRCUIT_BREAKER_TRIPPED');
    const reduce = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'STALE', side: 'sell', qty: 5, order_type: 'limit', limit_price: '100' });
    expect(reduce.status).toBe(201);

    // Fresh again: still tripped until an operator resets it.
    market.setTimestamp('STALE', new Date());
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await statusBody(t)).state).toBe('tripped');
    const reset = await t.http.post('/api/v1/circuit-breaker/reset').set(auth).send({ operator: 'jane' });
    expect(reset.status).toBe(200);
    expect(reset.body.state).toBe('open');
  });
});

describe('circuit breaker: automatic trip on drawdown (e2e)', () => {
  let t: TestApp;
  let equity = '100000';

  beforeAll(async () => {
    const sim = new SimBrokerClient({ clock: new SystemClock() });
    const getAccount = sim.getAccount.bind(sim);
    sim.getAccount = async () => ({ ...(await getAccount()), equity });
    t = await startTestApp({ env: { ...FAST, MAX_DRAWDOWN_PCT: '0.10' }, broker: sim });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("trips once equity falls 10 % below the day's peak, not before", async () => {
    equity = '120000'; // the day's peak
    await new Promise((r) => setTimeout(r, 1_500));
    equity = '108001'; // 9.999 % below: no trip
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await statusBody(t)).state).toBe('open');

    equity = '108000'; // exactly 10 %
    const tripped = await eventually(
      () => statusBody(t),
      (s) => s.state === 'tripped',
      10_000,
    );
    expect(tripped).toMatchObject({ reason_code: 'DRAWDOWN', tripped_by: 'system' });
    const audited = await t.db.query(
      `SELECT actor, details FROM audit_log WHERE action LIKE 'circuit_breaker.%trip%' ORDER BY id DESC LIMIT 1`,
    );
    expect(audited[0]?.actor).toBe('system');
  });
});
