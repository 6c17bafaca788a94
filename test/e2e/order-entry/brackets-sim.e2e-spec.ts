/**
 * Bracket and OCO orders on the sim broker (docs/simulator.md#bracket-oto-and-oco-orders), through the whole
 * app: legs held until the entry fills, the take-profit a limit, the stop following the sim's price walk
 * (stepped by a ManualScheduler), an OCO pair's first fill canceling the other; the position ends flat; and
 * every 422 of the door for these classes, as against the fake Alpaca (test/support/order-refusals.ts).
 */
import { walkPath } from '../../../src/broker/sim/sim-price-walk';
import { Decimal } from '../../../src/common/decimal';
import { ManualScheduler } from '../../../src/infra/clock/manual-scheduler';
import { auth, startTestApp, TestApp } from '../../support/app';
import { orderClassRefusals } from '../../support/order-refusals';
import { eventually } from '../../support/wait';

jest.setTimeout(60_000);

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('bracket and oco orders on the sim (e2e)', () => {
  const SEED = 'e2e-bracket';
  const VOL = '40';
  const STEP_MS = 1000;
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
        SIM_INITIAL_PRICES: 'WALK=100,SBTP=50,SOCO=20,SRED=30',
        MARKET_DATA_PRICE_CACHE_MS: '0',
      },
      simWalkScheduler: walk,
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  const post = (body: Body) => t.http.post('/api/v1/orders').set(auth).send(body);
  const detail = async (cid: string): Promise<Body> => (await t.http.get(`/api/v1/orders/${cid}`).set(auth)).body;
  const until = (cid: string, ok: (o: Body) => boolean) => eventually(() => detail(cid), ok);
  const price = (symbol: string, p: string) =>
    t.http.put(`/api/v1/sim/prices/${symbol}`).set(auth).send({ price: p, operator: 'jane.doe' });
  const position = async (symbol: string): Promise<string> => {
    const res = await t.http.get('/api/v1/positions').set(auth);
    return res.body.positions.find((p: Body) => p.symbol === symbol)?.qty ?? '0';
  };

  orderClassRefusals('sim', () => ({ t }));

  it('bracket: held legs, entry fill, take-profit fill, stop canceled, flat', async () => {
    const res = await post({
      symbol: 'SBTP',
      side: 'buy',
      qty: 6,
      order_type: 'limit',
      limit_price: '49',
      order_class: 'bracket',
      take_profit: { limit_price: '55' },
      stop_loss: { stop_price: '45' },
      client_order_id: 'sb-1',
    });
    expect(res.status).toBe(201);
    const held = await until('sb-1', (o) => o.status === 'new' && o.legs.every((l: Body) => l.broker_order_id));
    expect(held.legs.map((l: Body) => [l.client_order_id, l.status])).toEqual([
      ['sb-1-tp', 'accepted'],
      ['sb-1-sl', 'accepted'],
    ]);
    // Above the take-profit before the entry filled: the held leg does not trade.
    expect((await price('SBTP', '56')).status).toBe(200);
    expect((await price('SBTP', '49')).status).toBe(200);
    await until('sb-1', (o) => o.status === 'filled');
    await until('sb-1-tp', (o) => o.status === 'new');
    expect((await detail('sb-1-tp')).filled_qty).toBe('0');
    expect(await position('SBTP')).toBe('6');
    await price('SBTP', '55.5');
    const tp = await until('sb-1-tp', (o) => o.status === 'filled');
    expect(tp).toMatchObject({ filled_qty: '6', filled_avg_price: '55.5', parent_order_id: 'sb-1' });
    await until('sb-1-sl', (o) => o.status === 'canceled');
    expect(await position('SBTP')).toBe('0');
  });

  it('bracket: the stop follows the price walk and fills where the walk falls through it', async () => {
    const path = walkPath(SEED, 'WALK', new Decimal(100), new Decimal(VOL), 2000);
    // A stop a cent below the first few steps' low: the walk rests above it for a while, then falls through.
    const STOP = Decimal.min(new Decimal(100), ...path.slice(0, 5))
      .minus('0.01')
      .toDecimalPlaces(2, Decimal.ROUND_DOWN);
    const crossing = path.findIndex((p) => p.lte(STOP)) + 1;
    expect(crossing).toBeGreaterThan(5);
    expect(path.slice(0, crossing).every((p) => p.lt(200))).toBe(true);

    const res = await post({
      symbol: 'WALK',
      side: 'buy',
      qty: 4,
      order_class: 'bracket',
      take_profit: { limit_price: '200' },
      stop_loss: { stop_price: STOP.toFixed() },
      client_order_id: 'sw-1',
    });
    expect(res.status).toBe(201);
    await until('sw-1', (o) => o.status === 'filled');
    await until('sw-1-sl', (o) => o.status === 'new');
    await walk.advance(STEP_MS * (crossing - 1));
    expect((await detail('sw-1-sl')).status).toBe('new');
    await walk.advance(STEP_MS);
    const sl = await until('sw-1-sl', (o) => o.status === 'filled');
    expect(sl).toMatchObject({ filled_qty: '4', filled_avg_price: path[crossing - 1].toFixed(), order_type: 'stop' });
    await until('sw-1-tp', (o) => o.status === 'canceled');
    expect(await position('WALK')).toBe('0');
  });

  it("a filled bracket's resting legs already exit the position: a close is 409 CLOSE_PENDING, an oco exit 422", async () => {
    const res = await post({
      symbol: 'SRED',
      side: 'buy',
      qty: 5,
      order_class: 'bracket',
      take_profit: { limit_price: '40' },
      stop_loss: { stop_price: '20' },
      client_order_id: 'sr-1',
    });
    expect(res.status).toBe(201);
    expect((await until('sr-1-tp', (o) => o.status === 'new')).status).toBe('new');
    expect(await position('SRED')).toBe('5');
    const close = await t.http
      .post('/api/v1/positions/SRED/close')
      .set(auth)
      .send({ reason: 'test', operator: 'jane.doe' });
    expect(close.status).toBe(409);
    expect(close.body).toMatchObject({
      error: 'CLOSE_PENDING',
      details: { position_qty: '5', pending_close_qty: '5', closable_qty: '0' },
    });
    const oco = await post({
      symbol: 'SRED',
      side: 'sell',
      qty: 5,
      order_class: 'oco',
      take_profit: { limit_price: '45' },
      stop_loss: { stop_price: '15' },
    });
    expect(oco.status).toBe(422);
    expect(oco.body.details.fields).toEqual([expect.objectContaining({ field: 'order_class' })]);
    expect(await t.db.query(`SELECT 1 FROM orders WHERE symbol = 'SRED'`)).toHaveLength(3);
  });

  it('oco: exits an existing position; the take-profit fills and the stop leg is canceled', async () => {
    const buy = await post({ symbol: 'SOCO', side: 'buy', qty: 3, client_order_id: 'so-long' });
    expect(buy.status).toBe(201);
    await until('so-long', (o) => o.status === 'filled');
    const res = await post({
      symbol: 'SOCO',
      side: 'sell',
      qty: 3,
      order_class: 'oco',
      take_profit: { limit_price: '25' },
      stop_loss: { stop_price: '15', limit_price: '14.5' },
      client_order_id: 'so-1',
    });
    expect(res.status).toBe(201);
    await until('so-1-sl', (o) => o.status === 'new' && o.order_type === 'stop_limit');
    await price('SOCO', '26');
    await until('so-1', (o) => o.status === 'filled' && o.filled_avg_price === '26');
    await until('so-1-sl', (o) => o.status === 'canceled');
    expect(await position('SOCO')).toBe('0');
    const entry = await detail('so-1');
    expect(entry.legs.map((l: Body) => [l.client_order_id, l.status])).toEqual([['so-1-sl', 'canceled']]);
  });
});
