/**
 * Bracket, OTO and OCO orders (docs/order-lifecycle.md#bracket-oto-and-oco-orders) through the whole app,
 * against the fake Alpaca through the real SDK: one broker order carrying its legs, each leg its own order
 * row (`<entry>-tp` / `<entry>-sl`) holding the broker's id for it, following its own lifecycle and fills
 * from the broker's trade updates; every 422 of the order-entry door names its fields.
 */
import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { auth, startTestApp, TestApp } from '../../support/app';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { expectError } from '../../support/http-expect';
import { orderClassRefusals } from '../../support/order-refusals';
import { eventually } from '../../support/wait';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

jest.setTimeout(60_000);

type Body = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Waits for the order read by `read` to reach a state, and fails the test if it never does. */
async function reaches(read: () => Promise<Body>, cid: string, ok: (o: Body) => boolean): Promise<Body> {
  const o = await eventually(read, ok);
  if (!ok(o)) throw new Error(`${cid} did not reach the state awaited: ${JSON.stringify(o)}`);
  return o;
}

describe('bracket, oto and oco orders against the fake Alpaca, through the real SDK (e2e)', () => {
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

  const post = (body: Body) => t.http.post('/api/v1/orders').set(auth).send(body);
  const detail = async (cid: string): Promise<Body> => (await t.http.get(`/api/v1/orders/${cid}`).set(auth)).body;
  const until = (cid: string, ok: (o: Body) => boolean) => reaches(() => detail(cid), cid, ok);
  const position = async (symbol: string): Promise<string> => {
    const res = await t.http.get('/api/v1/positions').set(auth);
    return res.body.positions.find((p: Body) => p.symbol === symbol)?.qty ?? '0';
  };
  const wire = (cid: string) => fake.orderByClientOrderId(cid)!;

  const bracket = (symbol: string, id: string) => ({
    symbol,
    side: 'buy',
    qty: 10,
    order_type: 'limit',
    limit_price: '100',
    order_class: 'bracket',
    take_profit: { limit_price: '110' },
    stop_loss: { stop_price: '90', limit_price: '89.5' },
    client_order_id: id,
  });

  /** Places the bracket and waits until its legs carry the broker's ids (held until the entry fills). */
  async function placeBracket(symbol: string, id: string): Promise<{ entry: Body; tp: Body; sl: Body }> {
    market.setPrice(symbol, '100');
    const res = await post(bracket(symbol, id));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ order_class: 'bracket' });
    expect(res.body.legs.map((l: Body) => l.client_order_id)).toEqual([`${id}-tp`, `${id}-sl`]);
    const entry = await until(id, (o) => o.status === 'new' && o.legs.every((l: Body) => l.broker_order_id));
    const [tp, sl] = entry.legs as Body[];
    return { entry, tp, sl };
  }

  it('sends one order with its legs; each leg is its own row with the broker id Alpaca gave it', async () => {
    const { entry, tp, sl } = await placeBracket('BRK', 'brk-1');
    const [request] = fake.requests('POST /v2/orders').filter((r) => (r.body as Body).client_order_id === 'brk-1');
    expect(request.body).toMatchObject({
      order_class: 'bracket',
      type: 'limit',
      limit_price: '100',
      take_profit: { limit_price: '110' },
      stop_loss: { stop_price: '90', limit_price: '89.5' },
    });
    const legs = wire('brk-1').legs!;
    expect(legs.map((l) => l.status)).toEqual(['held', 'held']);
    expect(entry).toMatchObject({
      order_class: 'bracket',
      leg_type: null,
      take_profit: { limit_price: '110' },
      stop_loss: { stop_price: '90', limit_price: '89.5' },
    });
    expect(tp).toMatchObject({
      leg_type: 'take_profit',
      status: 'accepted',
      side: 'sell',
      order_type: 'limit',
      limit_price: '110',
      broker_order_id: legs[0].id,
    });
    expect(sl).toMatchObject({
      leg_type: 'stop_loss',
      status: 'accepted',
      side: 'sell',
      order_type: 'stop_limit',
      stop_price: '90',
      limit_price: '89.5',
      broker_order_id: legs[1].id,
    });
    // Alpaca names its legs with client ids of its own: the gateway keeps its own ids and the broker's order ids.
    expect(legs[0].client_order_id).not.toBe('brk-1-tp');
    const leg = await detail('brk-1-tp');
    expect(leg).toMatchObject({ parent_order_id: 'brk-1', order_class: 'bracket', leg_type: 'take_profit', qty: 10 });
    expect(leg).not.toHaveProperty('legs');
    // The leg rows were written ahead with the entry, and audited.
    const audit = (await t.http.get('/api/v1/orders/brk-1-sl/audit').set(auth)).body;
    expect(audit.entries.map((e: Body) => e.action)).toContain('order.accepted');
  });

  it('bracket: entry fill releases the legs; the take-profit fills, the stop is canceled, the position is flat', async () => {
    await placeBracket('BTP', 'btp-1');
    const legs = wire('btp-1').legs!;
    fake.fill(wire('btp-1').id, '10', '100');
    await until('btp-1-tp', (o) => o.status === 'new');
    await until('btp-1-sl', (o) => o.status === 'new');
    expect(await position('BTP')).toBe('10');
    fake.fill(legs[0].id, '10', '110');
    const tp = await until('btp-1-tp', (o) => o.status === 'filled');
    expect(tp).toMatchObject({
      filled_qty: '10',
      filled_avg_price: '110',
      fills: [expect.objectContaining({ qty: '10' })],
    });
    await until('btp-1-sl', (o) => o.status === 'canceled');
    expect(await position('BTP')).toBe('0');
    const entry = await detail('btp-1');
    expect(entry.legs.map((l: Body) => [l.leg_type, l.status])).toEqual([
      ['take_profit', 'filled'],
      ['stop_loss', 'canceled'],
    ]);
  });

  it('bracket: the stop fills, the take-profit is canceled', async () => {
    await placeBracket('BSL', 'bsl-1');
    const legs = wire('bsl-1').legs!;
    fake.fill(wire('bsl-1').id, '10', '100');
    await until('bsl-1-sl', (o) => o.status === 'new');
    fake.fill(legs[1].id, '10', '89.75');
    await until('bsl-1-sl', (o) => o.status === 'filled' && o.filled_avg_price === '89.75');
    await until('bsl-1-tp', (o) => o.status === 'canceled');
    expect(await position('BSL')).toBe('0');
  });

  it('canceling the entry cancels its legs', async () => {
    await placeBracket('BCX', 'bcx-1');
    const res = await t.http.post('/api/v1/orders/bcx-1/cancel').set(auth);
    expect(res.status).toBeLessThan(300);
    await until('bcx-1', (o) => o.status === 'canceled');
    await until('bcx-1-tp', (o) => o.status === 'canceled');
    await until('bcx-1-sl', (o) => o.status === 'canceled');
  });

  it('oto: an entry with one leg', async () => {
    market.setPrice('OTO', '50');
    const res = await post({
      symbol: 'OTO',
      side: 'sell',
      qty: 3,
      order_class: 'oto',
      stop_loss: { stop_price: '55' },
      client_order_id: 'oto-1',
    });
    expect(res.status).toBe(201);
    expect(res.body.legs.map((l: Body) => l.client_order_id)).toEqual(['oto-1-sl']);
    await until('oto-1-sl', (o) => o.broker_order_id !== null && o.side === 'buy' && o.order_type === 'stop');
    expect(wire('oto-1')).toMatchObject({ order_class: 'oto', type: 'market' });
  });

  it('oco: the exit of an existing position; the stop fills and the take-profit is canceled', async () => {
    market.setPrice('OCO', '100');
    const buy = await post({ symbol: 'OCO', side: 'buy', qty: 5, client_order_id: 'oco-long' });
    expect(buy.status).toBe(201);
    await until('oco-long', (o) => o.status === 'new');
    fake.fill(wire('oco-long').id, '5', '100');
    await until('oco-long', (o) => o.status === 'filled');
    expect(await position('OCO')).toBe('5');

    const res = await post({
      symbol: 'OCO',
      side: 'sell',
      qty: 5,
      order_class: 'oco',
      take_profit: { limit_price: '120' },
      stop_loss: { stop_price: '80' },
      client_order_id: 'oco-1',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ order_type: 'limit', limit_price: '120', order_class: 'oco' });
    expect(res.body.legs.map((l: Body) => l.client_order_id)).toEqual(['oco-1-sl']);
    const [request] = fake.requests('POST /v2/orders').filter((r) => (r.body as Body).client_order_id === 'oco-1');
    expect(request.body).toMatchObject({ order_class: 'oco', type: 'limit', limit_price: '120' });
    const sl = await until('oco-1-sl', (o) => o.status === 'new' && o.broker_order_id !== null);
    // A second exit of the same shares would go past flat: refused, nothing written.
    const again = await post({
      symbol: 'OCO',
      side: 'sell',
      qty: 5,
      order_class: 'oco',
      take_profit: { limit_price: '121' },
      stop_loss: { stop_price: '80' },
    });
    expect(expectError(again, 422, 'VALIDATION_FAILED').details!.fields).toEqual([
      expect.objectContaining({ field: 'order_class' }),
    ]);

    fake.fill(sl.broker_order_id, '5', '80');
    await until('oco-1-sl', (o) => o.status === 'filled');
    await until('oco-1', (o) => o.status === 'canceled');
    expect(await position('OCO')).toBe('0');
  });

  orderClassRefusals('fake Alpaca', () => ({ t, brokerPosts: () => fake.postOrderCount() }));
});

describe('legs in trade updates and the risk checks, against the fake Alpaca (e2e)', () => {
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
      env: {
        DRY_RUN: 'false',
        // Only the stream tells the gateway what happens at the broker (no polling, no periodic reconciliation).
        RECONCILIATION_INTERVAL_SECONDS: '3600',
        ORDER_POLL_INTERVAL_SECONDS: '3600',
        // One open order per strategy, and positions of at most 15 shares: a bracket of 10 fits only if its
        // two legs count neither as open orders nor as open sells.
        MAX_OPEN_ORDERS_PER_STRATEGY: '1',
        MAX_POSITION_SIZE: '15',
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    await fake.stop();
  });

  afterEach(() => expect(fake.internalErrors()).toEqual([]));

  const post = (body: Body) => t.http.post('/api/v1/orders').set(auth).send(body);
  const detail = async (cid: string): Promise<Body> => (await t.http.get(`/api/v1/orders/${cid}`).set(auth)).body;
  const until = (cid: string, ok: (o: Body) => boolean) => reaches(() => detail(cid), cid, ok);
  const position = async (symbol: string): Promise<string> => {
    const res = await t.http.get('/api/v1/positions').set(auth);
    return res.body.positions.find((p: Body) => p.symbol === symbol)?.qty ?? '0';
  };
  const close = (symbol: string, body: Body = {}) =>
    t.http
      .post(`/api/v1/positions/${symbol}/close`)
      .set(auth)
      .send({ reason: 'test', operator: 'jane.doe', ...body });
  const bracket = (symbol: string, id: string, strategy: string) => ({
    symbol,
    side: 'buy',
    qty: 10,
    order_type: 'limit',
    limit_price: '100',
    order_class: 'bracket',
    take_profit: { limit_price: '110' },
    stop_loss: { stop_price: '90' },
    client_order_id: id,
    strategy_id: strategy,
  });

  it("a trade update carrying legs moves the leg rows, even when the legs' own updates are lost", async () => {
    market.setPrice('LGS', '100');
    expect((await post(bracket('LGS', 'lgs-1', 'legs-s'))).status).toBe(201);
    await until('lgs-1', (o) => o.status === 'new' && o.legs.every((l: Body) => l.broker_order_id));
    const entry = fake.orderByClientOrderId('lgs-1')!;
    const legIds = entry.legs!.map((l) => l.id);
    // Alpaca's order object nests the legs: so do the entry's trade updates.
    const accepted = fake.events().find((e) => e.order.id === entry.id && e.event === 'new')!;
    expect(accepted.order.legs!.map((l) => [l.id, l.status])).toEqual(legIds.map((id) => [id, 'held']));
    fake.dropStreamEventsOf(legIds);
    try {
      fake.fill(entry.id, '10', '100');
      const fill = fake.events().find((e) => e.order.id === entry.id && e.event === 'fill')!;
      expect(fill.order.legs!.map((l) => [l.id, l.status])).toEqual(legIds.map((id) => [id, 'new']));
      // Only the entry's update reached the gateway; its legs moved the leg rows from held to working.
      await until('lgs-1-tp', (o) => o.status === 'new');
      await until('lgs-1-sl', (o) => o.status === 'new');
      expect(fake.events().filter((e) => legIds.includes(e.order.id))).toEqual([]);
    } finally {
      fake.dropStreamEventsOf([]);
    }
  });

  it("a bracket's legs add no exposure: it passes limits that counting them would break", async () => {
    market.setPrice('LGA', '100');
    // Entry and two legs: three open orders if legs counted, against a limit of one.
    expect((await post(bracket('LGA', 'lga-1', 'legs-a'))).status).toBe(201);
    await until('lga-1', (o) => o.status === 'new' && o.legs.every((l: Body) => l.broker_order_id));
    // The limit holds: the strategy's next order is refused.
    const next = await post({
      symbol: 'LGA',
      side: 'buy',
      qty: 1,
      order_type: 'limit',
      limit_price: '1',
      strategy_id: 'legs-a',
    });
    expectError(next, 422, 'MAX_OPEN_ORDERS');
    // Flat, a sell of 10 projects -10 (within 15); with the legs' sells counted it would project -20 or -30.
    const sell = await post({
      symbol: 'LGA',
      side: 'sell',
      qty: 10,
      order_type: 'limit',
      limit_price: '200',
      strategy_id: 'legs-b',
      client_order_id: 'lga-short',
    });
    expect(sell.status).toBe(201);
    const [counters] = await t.db.query(
      `SELECT open_buy_qty::text AS buy, open_sell_qty::text AS sell FROM symbol_exposure WHERE symbol = 'LGA'`,
    );
    expect(counters).toEqual({ buy: '10', sell: '10' });
  });

  it('once the entry filled, its resting exit legs count against every reduce-only order: nothing goes past flat', async () => {
    market.setPrice('LGC', '100');
    const long = await post({ symbol: 'LGC', side: 'buy', qty: 4, client_order_id: 'lgc-long', strategy_id: 'legs-c' });
    expect(long.status).toBe(201);
    await until('lgc-long', (o) => o.status === 'new');
    fake.fill(fake.orderByClientOrderId('lgc-long')!.id, '4', '100');
    await until('lgc-long', (o) => o.status === 'filled');
    expect((await post(bracket('LGC', 'lgc-1', 'legs-c'))).status).toBe(201);
    await until('lgc-1', (o) => o.status === 'new' && o.legs.every((l: Body) => l.broker_order_id));
    fake.fill(fake.orderByClientOrderId('lgc-1')!.id, '10', '100');
    await until('lgc-1-tp', (o) => o.status === 'new');
    await until('lgc-1-sl', (o) => o.status === 'new');
    expect(await position('LGC')).toBe('14');

    // The legs already exit 10 of the 14 shares: a close of the position is limited to the other 4.
    const first = await close('LGC');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ side: 'sell', qty: 4 });
    // Now the close and the legs exit all 14: another close, a part of it, an adjust toward flat are refused.
    const again = expectError(await close('LGC'), 409, 'CLOSE_PENDING');
    expect(again.details).toMatchObject({ position_qty: '14', pending_close_qty: '14', closable_qty: '0' });
    expectError(await close('LGC', { qty: 1 }), 409, 'CLOSE_PENDING');
    const adjust = await t.http
      .post('/api/v1/positions/LGC/adjust')
      .set(auth)
      .send({ target_qty: 13, reason: 'test', operator: 'jane.doe' });
    expectError(adjust, 409, 'CLOSE_PENDING');
    // An OCO exit of one more share would go past flat with the legs: 422 naming order_class.
    const oco = await post({
      symbol: 'LGC',
      side: 'sell',
      qty: 1,
      order_class: 'oco',
      take_profit: { limit_price: '120' },
      stop_loss: { stop_price: '80' },
      strategy_id: 'legs-d',
    });
    expect(expectError(oco, 422, 'VALIDATION_FAILED').details!.fields).toEqual([
      expect.objectContaining({ field: 'order_class' }),
    ]);
    // A plain sell is no longer reduce-only either: the breaker refuses it as exposure.
    expect(
      (await t.http.post('/api/v1/circuit-breaker/trip').set(auth).send({ operator: 'jane', reason: 'test' })).status,
    ).toBeLessThan(300);
    try {
      const plain = await post({
        symbol: 'LGC',
        side: 'sell',
        qty: 1,
        order_type: 'limit',
        limit_price: '130',
        strategy_id: 'legs-e',
      });
      expectError(plain, 503, 'CIRCUIT_BREAKER_TRIPPED');
    } finally {
      await t.http.post('/api/v1/circuit-breaker/reset').set(auth).send({ operator: 'jane' });
    }
    const rows = await t.db.query(`SELECT client_order_id FROM orders WHERE symbol = 'LGC' ORDER BY seq`);
    expect(rows).toHaveLength(5);
  });
});
