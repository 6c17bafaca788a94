/**
 * Trailing stops and extended hours (docs/order-lifecycle.md#trailing-stop-orders) through the whole app:
 * validated at the one order-entry door (every 422 names its field), persisted, sent through the real
 * Alpaca SDK to the fake Alpaca in Alpaca's wire format, and on the sim a trailing stop follows the
 * price walk (stepped by a ManualScheduler) and fills when the walk falls through its stop.
 */
import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { walkPath } from '../../../src/broker/sim/sim-price-walk';
import { Decimal } from '../../../src/common/decimal';
import { SystemClock } from '../../../src/infra/clock/clock';
import { ManualScheduler } from '../../../src/infra/clock/manual-scheduler';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { auth, startTestApp, TestApp } from '../../support/app';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { orderTypeRefusals } from '../../support/order-refusals';
import { eventually } from '../../support/wait';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

jest.setTimeout(60_000);

describe('order types against the fake Alpaca, through the real SDK (e2e)', () => {
  const fake = new FakeAlpacaServer();
  const market = new SimMarketDataProvider({ clock: new SystemClock() });
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    alpaca = alpacaClientOf(fake);
    t = await startTestApp({
      broker: alpaca,
      marketData: market,
      env: { DRY_RUN: 'false', RECONCILIATION_INTERVAL_SECONDS: '3600', ORDER_POLL_INTERVAL_SECONDS: '1' },
    });
  });

  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    await fake.stop();
  });

  afterEach(() => expect(fake.internalErrors()).toEqual([]));

  const post = (body: Record<string, unknown>) => t.http.post('/api/v1/orders').set(auth).send(body);
  const detail = async (cid: string) => (await t.http.get(`/api/v1/orders/${cid}`).set(auth)).body;

  it('a trailing stop in percent reaches Alpaca with its trail, and Alpaca answers its hwm and stop', async () => {
    fake.setPrice('TRL', '200');
    market.setPrice('TRL', '200');
    const res = await post({
      symbol: 'TRL',
      side: 'sell',
      qty: 3,
      order_type: 'trailing_stop',
      trail_percent: '2.50',
      time_in_force: 'gtc',
      client_order_id: 'trl-pct',
    });
    expect(res.status).toBe(201);
    const sent = await eventually(
      () => detail('trl-pct'),
      (o) => o.status === 'new',
    );
    expect(sent).toMatchObject({
      order_type: 'trailing_stop',
      trail_price: null,
      trail_percent: '2.5',
      extended_hours: false,
      stop_price: null,
    });
    const wire = fake.orderByClientOrderId('trl-pct')!;
    expect(wire).toMatchObject({
      type: 'trailing_stop',
      trail_percent: '2.5',
      trail_price: null,
      hwm: '200',
      stop_price: '195',
      extended_hours: false,
    });
    const [request] = fake
      .requests('POST /v2/orders')
      .filter((r) => (r.body as { client_order_id?: string }).client_order_id === 'trl-pct');
    expect(request.body).toMatchObject({ type: 'trailing_stop', trail_percent: '2.5' });
    expect(request.body).not.toHaveProperty('stop_price');
  });

  it('a trailing stop in dollars, and a derived id that differs from the same order in percent', async () => {
    const body = { symbol: 'TRL', side: 'sell', qty: 2, order_type: 'trailing_stop' };
    const dollars = await post({ ...body, trail_price: 1 });
    const percent = await post({ ...body, trail_percent: 1 });
    expect(dollars.status).toBe(201);
    expect(percent.status).toBe(201);
    expect(dollars.body.client_order_id).not.toBe(percent.body.client_order_id);
    await eventually(
      () => detail(dollars.body.client_order_id),
      (o) => o.status === 'new',
    );
    expect(fake.orderByClientOrderId(dollars.body.client_order_id)).toMatchObject({ trail_price: '1', hwm: '200' });
  });

  it('an extended-hours limit day order is sent with extended_hours', async () => {
    const res = await post({
      symbol: 'EXH',
      side: 'buy',
      qty: 1,
      order_type: 'limit',
      limit_price: '50',
      extended_hours: true,
      client_order_id: 'exh-1',
    });
    expect(res.status).toBe(201);
    await eventually(
      () => detail('exh-1'),
      (o) => o.status === 'new',
    );
    expect(await detail('exh-1')).toMatchObject({ extended_hours: true });
    expect(fake.orderByClientOrderId('exh-1')).toMatchObject({ extended_hours: true, limit_price: '50' });
  });

  orderTypeRefusals('fake Alpaca', () => ({ t, brokerPosts: () => fake.postOrderCount() }));
});

describe('a trailing stop on the sim price walk (e2e)', () => {
  const SEED = 'e2e-trail';
  const VOL = '40';
  const STEP_MS = 1000;
  const PCT = new Decimal('0.5');
  const walk = new ManualScheduler();
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        DRY_RUN: 'false',
        ORDER_POLL_INTERVAL_SECONDS: '1',
        SIM_PRICE_SEED: SEED,
        SIM_PRICE_VOLATILITY_BPS: VOL,
        SIM_PRICE_STEP_MS: String(STEP_MS),
        SIM_INITIAL_PRICES: 'TRAIL=100',
        MARKET_DATA_PRICE_CACHE_MS: '0',
      },
      simWalkScheduler: walk,
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  const detail = async (cid: string) => (await t.http.get(`/api/v1/orders/${cid}`).set(auth)).body;

  orderTypeRefusals('sim', () => ({ t }));

  it('rests while the walk makes new highs, and fills at the first step that falls through the trailed stop', async () => {
    const buy = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'TRAIL', side: 'buy', qty: 4, client_order_id: 'trail-long' });
    expect(buy.status).toBe(201);
    await eventually(
      () => detail('trail-long'),
      (o) => o.status === 'filled',
    );
    const res = await t.http.post('/api/v1/orders').set(auth).send({
      symbol: 'TRAIL',
      side: 'sell',
      qty: 4,
      order_type: 'trailing_stop',
      trail_percent: PCT.toFixed(),
      time_in_force: 'gtc',
      client_order_id: 'trail-1',
    });
    expect(res.status).toBe(201);
    await eventually(
      () => detail('trail-1'),
      (o) => o.status === 'new',
    );

    // The expected trigger, from the walk alone: the best price so far, and the stop it sets.
    const path = walkPath(SEED, 'TRAIL', new Decimal(100), new Decimal(VOL), 2000);
    let best = new Decimal(100);
    let crossing = -1;
    for (let i = 0; i < path.length && crossing < 0; i += 1) {
      best = Decimal.max(best, path[i]);
      if (path[i].lte(best.mul(new Decimal(1).minus(PCT.div(100))))) crossing = i + 1;
    }
    // The seed is chosen so the walk first rises above the start (the stop ratchets up) and triggers later.
    expect(crossing).toBeGreaterThan(2);
    expect(best.gt(100)).toBe(true);

    await walk.advance(STEP_MS * (crossing - 1));
    expect((await detail('trail-1')).status).toBe('new');
    await walk.advance(STEP_MS);
    const filled = await eventually(
      () => detail('trail-1'),
      (o) => o.status === 'filled',
    );
    expect(filled).toMatchObject({ filled_qty: '4', filled_avg_price: path[crossing - 1].toFixed() });
    // Above what a stop fixed at the start (99.5) would have given only if the walk rose first: the stop trailed up.
    expect(new Decimal(filled.filled_avg_price).gt(new Decimal(100).mul(new Decimal(1).minus(PCT.div(100))))).toBe(
      true,
    );
  });
});
