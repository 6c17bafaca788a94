/**
 * The pre-trade pipeline through the HTTP API (docs/risk-and-safety.md#the-pre-trade-pipeline, docs/api.md):
 * fat-finger and risk limits against real PostgreSQL/Redis, concurrent
 * requests racing one limit, reduce-only exemptions, the kill switch's
 * cancel-all, and fail-closed reads.
 */
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

const LIVE = { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1', BROKER_SUBMIT_TIMEOUT_MS: '2000' };

interface Refusal {
  error: string;
  message: string;
  details: Record<string, unknown>;
}

async function rejections(t: TestApp, code: string): Promise<Array<Record<string, unknown>>> {
  return t.db.query(
    `SELECT client_order_id, symbol, strategy_id, reason_code, details FROM audit_log
      WHERE action = 'order.rejected' AND reason_code = $1 ORDER BY id`,
    [code],
  );
}

describe('pre-trade pipeline: fat-finger (e2e)', () => {
  let t: TestApp;
  let market: SimMarketDataProvider;

  beforeAll(async () => {
    market = new SimMarketDataProvider({ clock: new SystemClock() });
    t = await startTestApp({
      env: {
        FAT_FINGER_MAX_QTY: '100',
        FAT_FINGER_MAX_NOTIONAL: '5000',
        FAT_FINGER_MAX_ADV_PCT: '0.05',
        FAT_FINGER_MAX_PRICE_AGE_SECONDS: '30',
        MARKET_DATA_PRICE_CACHE_MS: '0',
      },
      marketData: market,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const submit = (body: Record<string, unknown>) => t.http.post('/api/v1/orders').set(auth).send(body);

  it('refuses qty above max_qty with 422 FAT_FINGER_MAX_QTY, audited, with no order row; equal passes', async () => {
    const res = await submit({ symbol: 'FFQ', side: 'buy', qty: 101, order_type: 'limit', limit_price: '1' });
    expect(res.status).toBe(422);
    const body = res.body as Refusal;
    expect(body.error).toBe('FAT_FINGER_MAX_QTY');
    expect(body.details).toMatchObject({ limit: '100', value: '101' });
    const id = body.details.client_order_id as string;
    expect(await t.db.query('SELECT 1 FROM orders WHERE client_order_id = $1', [id])).toHaveLength(0);
    const audited = await rejections(t, 'FAT_FINGER_MAX_QTY');
    expect(audited).toContainEqual(expect.objectContaining({ client_order_id: id, symbol: 'FFQ' }));

    const ok = await submit({ symbol: 'FFQ', side: 'buy', qty: 100, order_type: 'limit', limit_price: '1' });
    expect(ok.status).toBe(201);
  });

  it('prices a market order at the market: notional above the limit is 422 FAT_FINGER_MAX_NOTIONAL', async () => {
    market.setPrice('FFN', '60');
    // 83 × 60 = 4,980 passes; 84 × 60 = 5,040 does not.
    expect((await submit({ symbol: 'FFN', side: 'buy', qty: 83 })).status).toBe(201);
    const res = await submit({ symbol: 'FFN', side: 'buy', qty: 84 });
    expect(res.status).toBe(422);
    expect((res.body as Refusal).error).toBe('FAT_FINGER_MAX_NOTIONAL');
  });

  it('refuses a market order without a price (PRICE_UNAVAILABLE) or with a stale one (PRICE_STALE); a limit order needs none', async () => {
    market.setNoData('FFX', { price: true });
    const none = await submit({ symbol: 'FFX', side: 'buy', qty: 1 });
    expect(none.status).toBe(422);
    expect((none.body as Refusal).error).toBe('PRICE_UNAVAILABLE');
    const limit = await submit({ symbol: 'FFX', side: 'buy', qty: 1, order_type: 'limit', limit_price: '10' });
    expect(limit.status).toBe(201);

    market.setPrice('FFS', '10');
    market.setTimestamp('FFS', new Date(Date.now() - 31_000));
    const stale = await submit({ symbol: 'FFS', side: 'buy', qty: 1 });
    expect(stale.status).toBe(422);
    expect((stale.body as Refusal).error).toBe('PRICE_STALE');
  });

  it('refuses qty above max_adv_pct of ADV (FAT_FINGER_MAX_ADV_PCT)', async () => {
    market.setAdv('FFA', '1000');
    expect((await submit({ symbol: 'FFA', side: 'buy', qty: 50, order_type: 'limit', limit_price: '1' })).status).toBe(
      201,
    );
    const res = await submit({ symbol: 'FFA', side: 'buy', qty: 51, order_type: 'limit', limit_price: '1' });
    expect(res.status).toBe(422);
    expect((res.body as Refusal).error).toBe('FAT_FINGER_MAX_ADV_PCT');
  });

  it('applies a per-symbol override set through PUT /fat-finger/thresholds', async () => {
    const put = await t.http
      .put('/api/v1/fat-finger/thresholds')
      .set(auth)
      .send({ operator: 'ops', symbol_overrides: { FFO: { max_qty: '5' } } });
    expect(put.status).toBe(200);
    const res = await eventually(
      () => submit({ symbol: 'FFO', side: 'buy', qty: 6, order_type: 'limit', limit_price: '1', idempotency_key: 'x' }),
      (r) => r.status === 422,
    );
    expect((res.body as Refusal).error).toBe('FAT_FINGER_MAX_QTY');
    expect((await submit({ symbol: 'FFP', side: 'buy', qty: 6, order_type: 'limit', limit_price: '1' })).status).toBe(
      201,
    );
  });
});

describe('pre-trade pipeline: risk limits (e2e, sim broker)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    t = await startTestApp({
      env: { ...LIVE, MAX_POSITION_SIZE: '100', MAX_OPEN_ORDERS_PER_STRATEGY: '5', MAX_POSITION_PCT: '0.5' },
      broker: sim,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const restingBuy = (symbol: string, qty: number, strategy: string, key: string) =>
    t.http.post('/api/v1/orders').set(auth).send({
      symbol,
      side: 'buy',
      qty,
      order_type: 'limit',
      limit_price: '1',
      strategy_id: strategy,
      idempotency_key: key,
    });

  it('20 concurrent resting buys of 10 against MAX_POSITION_SIZE 100: exactly 10 pass', async () => {
    // Five strategies of four orders each, so the open-orders limit (5 per strategy) stays out of the way.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => restingBuy('RACE', 10, `race_${i % 5}`, `k${i}`)),
    );
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 422);
    expect(created).toHaveLength(10);
    expect(refused).toHaveLength(10);
    for (const r of refused) expect((r.body as Refusal).error).toBe('MAX_POSITION_SIZE');
    const [{ open }] = await t.db.query(
      `SELECT SUM(qty - filled_qty)::text AS open FROM orders WHERE symbol = 'RACE' AND status = 'new'`,
    );
    expect(open).toBe('100');
  });

  it('12 concurrent orders of one strategy against MAX_OPEN_ORDERS_PER_STRATEGY 5: exactly 5 pass', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => restingBuy(`OPN${i}`, 1, 'open_limit', `o${i}`)),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    const refused = results.filter((r) => r.status === 422);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect((r.body as Refusal).error).toBe('MAX_OPEN_ORDERS');
  });

  it('a replay of an existing order is answered 200 even when a limit would now refuse a new one', async () => {
    const first = await restingBuy('RPL', 1, 'open_limit', 'o0');
    // o0 on OPN0 was created above; the strategy is now at its limit, but this is the same order.
    const replay = await restingBuy('OPN0', 1, 'open_limit', 'o0');
    expect(first.status).toBe(422);
    expect(replay.status).toBe(200);
  });

  it('reduce-only orders are exempt from position limits; adding beyond the limit is refused', async () => {
    // A market buy fills at once in the sim: long 100 (the limit).
    const buy = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RDC', side: 'buy', qty: 100 });
    expect(buy.status).toBe(201);
    const position = await eventually(
      async () => (await t.db.query(`SELECT qty::text FROM positions WHERE symbol = 'RDC'`))[0] as { qty: string },
      (p) => p?.qty === '100',
    );
    expect(position?.qty).toBe('100');
    const more = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RDC', side: 'buy', qty: 1 });
    expect(more.status).toBe(422);
    expect((more.body as Refusal).error).toBe('MAX_POSITION_SIZE');
    const sell = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RDC', side: 'sell', qty: 100 });
    expect(sell.status).toBe(201);
  });

  it('MAX_POSITION_PCT: the position value against account equity (sim: 100,000 cash)', async () => {
    // 0.5 × ~100,000 equity ≈ 50,000: 60 shares at 1,000 = 60,000 is refused, 40 = 40,000 passes.
    const big = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'PCT', side: 'buy', qty: 60, order_type: 'limit', limit_price: '1000', strategy_id: 'pct' });
    expect(big.status).toBe(422);
    expect((big.body as Refusal).error).toBe('MAX_POSITION_PCT');
    const small = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'PCT', side: 'buy', qty: 40, order_type: 'limit', limit_price: '1', strategy_id: 'pct' });
    expect(small.status).toBe(201);
  });
});

describe('pre-trade pipeline: fail closed and cancel-all (e2e, sim broker)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;
  let accountDown = true;

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    const getAccount = sim.getAccount.bind(sim);
    sim.getAccount = () => (accountDown ? Promise.reject(new Error('account endpoint down')) : getAccount());
    t = await startTestApp({ env: LIVE, broker: sim });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses exposure with 503 SAFETY_STATE_UNAVAILABLE while account equity cannot be read', async () => {
    const order = { symbol: 'EQD', side: 'buy', qty: 1, order_type: 'limit', limit_price: '1' };
    const res = await t.http.post('/api/v1/orders').set(auth).send(order);
    expect(res.status).toBe(503);
    expect((res.body as Refusal).error).toBe('SAFETY_STATE_UNAVAILABLE');
    expect((res.body as Refusal).details).toMatchObject({ state: 'account_equity' });
    accountDown = false;
    expect((await t.http.post('/api/v1/orders').set(auth).send(order)).status).toBe(201);
  });

  it('kill switch with cancel_open_orders cancels every open order and reports it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.http
        .post('/api/v1/orders')
        .set(auth)
        .send({ symbol: 'CXA', side: 'buy', qty: 1, order_type: 'limit', limit_price: '1', idempotency_key: `c${i}` });
      expect(res.status).toBe(201);
      ids.push(res.body.client_order_id as string);
    }
    const engage = await t.http
      .post('/api/v1/kill-switch/engage')
      .set(auth)
      .send({ operator: 'ops', reason: 'test', cancel_open_orders: true });
    expect(engage.status).toBe(200);
    // The resting order of the previous test is open too.
    expect(engage.body.cancel_all).toMatchObject({ found: 4, failed: [] });
    const statuses = await eventually(
      async () =>
        (
          (await t.db.query('SELECT status FROM orders WHERE client_order_id = ANY($1)', [ids])) as Array<{
            status: string;
          }>
        ).map((r) => r.status),
      (st) => st.every((x) => x === 'canceled'),
    );
    expect(statuses).toEqual(['canceled', 'canceled', 'canceled']);
    const [open] = await t.db.query(`SELECT count(*)::int AS n FROM orders WHERE status NOT IN ('canceled')`);
    expect(open.n).toBe(0);
    const audited = await t.db.query(`SELECT actor, details FROM audit_log WHERE action = 'kill_switch.cancel_all'`);
    expect(audited[0]).toMatchObject({ actor: 'ops', details: expect.objectContaining({ found: 4 }) });
    await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'ops' }).expect(200);
  });
});

describe('pre-trade pipeline: daily loss limit (e2e, sim broker)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    t = await startTestApp({
      env: {
        ...LIVE,
        DAILY_LOSS_LIMIT: '5000',
        // The breaker would trip on the same loss and answer first (503); this is about the 422 limit.
        CIRCUIT_BREAKER_ENABLED: 'false',
        CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS: '1',
        MARKET_DATA_PRICE_CACHE_MS: '0',
      },
      broker: sim,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("refuses new exposure with 422 DAILY_LOSS_LIMIT once today's loss reaches the limit", async () => {
    const order = (side: string, symbol = 'LOSS') =>
      t.http.post('/api/v1/orders').set(auth).send({ symbol, side, qty: 100 });
    expect((await order('buy')).status).toBe(201);
    await eventually(
      async () => (await t.db.query(`SELECT qty::text FROM positions WHERE symbol = 'LOSS'`))[0] as { qty: string },
      (p) => p?.qty === '100',
    );
    sim.setPrice('LOSS', '40');
    // Selling 100 bought at 100 for 40 realizes −6,000.
    expect((await order('sell')).status).toBe(201);
    const res = await eventually(
      () =>
        t.http
          .post('/api/v1/orders')
          .set(auth)
          .send({ symbol: 'OTHER', side: 'buy', qty: 1, idempotency_key: String(Math.random()) }),
      (r) => r.status === 422,
      10_000,
    );
    expect(res.body).toMatchObject({ error: 'DAILY_LOSS_LIMIT', details: { limit: '5000' } });
    expect(new Set((await rejections(t, 'DAILY_LOSS_LIMIT')).map((r) => r.symbol))).toEqual(new Set(['OTHER']));
  });
});

describe('pre-trade pipeline: one limit across two replicas (e2e, sim broker)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    const env = { ...LIVE, MAX_POSITION_SIZE: '100' };
    a = await startTestApp({ env, broker: new SimBrokerClient({ clock: new SystemClock() }) });
    b = await startTestApp({ env, broker: new SimBrokerClient({ clock: new SystemClock() }), database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('20 concurrent resting buys of 10, half to each replica, against MAX_POSITION_SIZE 100: exactly 10 pass', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).http
          .post('/api/v1/orders')
          .set(auth)
          .send({
            symbol: 'DUO',
            side: 'buy',
            qty: 10,
            order_type: 'limit',
            limit_price: '1',
            strategy_id: `duo_${i % 4}`,
            idempotency_key: `d${i}`,
          }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(10);
    const refused = results.filter((r) => r.status === 422);
    expect(refused).toHaveLength(10);
    for (const r of refused) expect((r.body as Refusal).error).toBe('MAX_POSITION_SIZE');
    const [{ open }] = await a.db.query(
      `SELECT SUM(qty - filled_qty)::text AS open FROM orders WHERE symbol = 'DUO' AND status NOT IN ('canceled', 'rejected')`,
    );
    expect(open).toBe('100');
  });
});
