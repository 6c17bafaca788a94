/**
 * The circuit breaker's automatic trips on stale market data and on drawdown,
 * end to end: the leader's monitor trips it (operator `system`), new exposure
 * is refused with 503 CIRCUIT_BREAKER_TRIPPED, reduce-only orders still pass,
 * and only an operator's reset clears it.
 */
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

const FAST = { CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS: '1', MARKET_DATA_PRICE_CACHE_MS: '0' };

const status = async (t: TestApp) =>
  (await t.http.get('/api/v1/circuit-breaker/status').set(auth)).body as Record<string, unknown>;

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
    expect((await status(t)).state).toBe('open');

    market.setTimestamp('STALE', new Date(Date.now() - 61_000));
    const tripped = await eventually(
      () => status(t),
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
    expect((await status(t)).state).toBe('tripped');
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
    expect((await status(t)).state).toBe('open');

    equity = '108000'; // exactly 10 %
    const tripped = await eventually(
      () => status(t),
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
