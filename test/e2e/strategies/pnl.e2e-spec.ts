import { SystemClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { createKey } from '../../support/api-keys';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectError, expectInvalidFields } from '../../support/http-expect';
import { eventually } from '../../support/wait';
import { filledOrder } from './fills';

/**
 * Positions marked to market, per-strategy books and daily performance, with
 * exact decimals: two strategies trade one symbol, alpha closes part of its
 * long and flips through zero, beta's sell flips the account through zero.
 */
describe('strategies and P&L (e2e)', () => {
  let t: TestApp;
  let market: SimMarketDataProvider;
  const today = new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    market = new SimMarketDataProvider({ clock: new SystemClock() });
    t = await startTestApp({ marketData: market, env: { MARKET_DATA_PRICE_CACHE_MS: '0' } });
    await filledOrder(t, { strategyId: 'alpha', symbol: 'PNL', side: 'buy', qty: '100', price: '10' });
    await filledOrder(t, { strategyId: 'beta', symbol: 'PNL', side: 'buy', qty: '50', price: '12' });
    await filledOrder(t, { strategyId: 'alpha', symbol: 'PNL', side: 'sell', qty: '40', price: '11.5' }); // +60
    await filledOrder(t, { strategyId: 'alpha', symbol: 'PNL', side: 'sell', qty: '100', price: '9' }); // −60, 40 short @ 9
    await filledOrder(t, { strategyId: 'beta', symbol: 'PNL', side: 'sell', qty: '20', price: '13' }); // +20
    market.setPrice('PNL', '10');
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = (path: string) => t.http.get(path).set(auth);

  it('GET /positions marks to market: current_price, market_value, unrealized_pl; ?symbol= filters', async () => {
    const res = await get('/api/v1/positions?symbol=PNL');
    expect(res.status).toBe(200);
    // Account: 150 @ 10.66666667, sells 40 @ 11.5 and 100 @ 9 (10 left), then 20 @ 13 flips it to 10 short @ 13.
    expect(res.body.positions).toEqual([
      expect.objectContaining({
        symbol: 'PNL',
        qty: '-10',
        avg_entry_price: '13',
        current_price: '10',
        market_value: '-100',
        unrealized_pl: '30',
        realized_pl: '-110',
      }),
    ]);
    expect(res.body.total_positions).toBe(1);
    expectInvalidFields(await get('/api/v1/positions?symbol=not%20a%20symbol'), ['symbol']);
  });

  it("GET /positions/pnl/realtime?strategy_id= is that strategy's own book, exact", async () => {
    const alpha = await get('/api/v1/positions/pnl/realtime?strategy_id=alpha');
    expect(alpha.status).toBe(200);
    expect(alpha.body).toMatchObject({
      strategy_id: 'alpha',
      positions: [
        {
          symbol: 'PNL',
          qty: '-40',
          avg_entry_price: '9',
          current_price: '10',
          price_source: 'realtime',
          unrealized_pl: '-40',
          unrealized_pl_pct: '-11.1111',
          realized_pl: '0',
        },
      ],
      total_unrealized_pl: '-40',
      total_realized_pl: '0',
      unattributed: null,
    });
    const beta = await get('/api/v1/positions/pnl/realtime?strategy_id=beta&symbol=PNL');
    expect(beta.body).toMatchObject({
      positions: [{ symbol: 'PNL', qty: '30', avg_entry_price: '12', unrealized_pl: '-60', realized_pl: '20' }],
      total_unrealized_pl: '-60',
      total_realized_pl: '20',
    });
  });

  it('the account view carries the unattributed netting: strategies + unattributed = account', async () => {
    const res = await get('/api/v1/positions/pnl/realtime?symbol=PNL');
    expect(res.status).toBe(200);
    expect(res.body.positions).toEqual([
      expect.objectContaining({ symbol: 'PNL', qty: '-10', unrealized_pl: '30', realized_pl: '-110' }),
    ]);
    // Realized: −110 − (0 + 20); unrealized: 30 − (−40 − 60); no shares.
    expect(res.body.unattributed).toEqual({
      positions: [{ symbol: 'PNL', qty: '0', realized_pl: '-130', unrealized_pl: '130' }],
    });
  });

  it('/metrics: realized P&L today and unrealized P&L per strategy, from its own book', async () => {
    const text = (await t.http.get('/metrics')).text;
    const sample = (name: string, strategy: string) =>
      new RegExp(`^${name}\\{strategy_id="${strategy}"\\} (\\S+)$`, 'm').exec(text)?.[1];
    // alpha: +60 − 60 today, 40 short @ 9 at 10; beta: +20, 30 @ 12 at 10.
    expect(sample('execution_gateway_strategy_realized_pl_today', 'alpha')).toBe('0');
    expect(sample('execution_gateway_strategy_unrealized_pl', 'alpha')).toBe('-40');
    expect(sample('execution_gateway_strategy_realized_pl_today', 'beta')).toBe('20');
    expect(sample('execution_gateway_strategy_unrealized_pl', 'beta')).toBe('-60');
  });

  it('falls back to the last fill price when market data is stale, then to none', async () => {
    market.setTimestamp('PNL', new Date(Date.now() - 3_600_000));
    const res = await get('/api/v1/positions/pnl/realtime?strategy_id=alpha');
    expect(res.body.positions[0]).toMatchObject({
      current_price: '13',
      price_source: 'last_fill',
      unrealized_pl: '-160',
    });
    const positions = await get('/api/v1/positions?symbol=PNL');
    expect(positions.body.positions[0]).toMatchObject({ current_price: null, market_value: null, unrealized_pl: null });
    market.clear('PNL');
    market.setPrice('PNL', '10');
  });

  it('GET /performance/daily: per day and strategy, exact, with the unattributed remainder', async () => {
    const res = await get(`/api/v1/performance/daily?start=${today}&end=${today}`);
    expect(res.status).toBe(200);
    expect(res.body.days).toEqual([
      {
        date: today,
        strategy_id: 'alpha',
        realized_pl: '0',
        fills: 3,
        buy_notional: '1000',
        sell_notional: '1360',
        orders: 3,
        rejections: 0,
      },
      {
        date: today,
        strategy_id: 'beta',
        realized_pl: '20',
        fills: 2,
        buy_notional: '600',
        sell_notional: '260',
        orders: 2,
        rejections: 0,
      },
    ]);
    expect(res.body.totals).toEqual({
      realized_pl: '20',
      fills: 5,
      buy_notional: '1600',
      sell_notional: '1620',
      orders: 5,
      rejections: 0,
    });
    expect(res.body.unattributed).toEqual({ realized_pl: '-130' });
    const one = await get(`/api/v1/performance/daily?strategy_id=beta&start=${today}&end=${today}`);
    expect(one.body.days).toHaveLength(1);
    expect(one.body.unattributed).toBeNull();
  });

  it('GET /performance/daily names the bad field: dates, order, range', async () => {
    expectInvalidFields(await get('/api/v1/performance/daily?start=2026-02-30&end=2026-03-01'), ['start']);
    expectInvalidFields(await get('/api/v1/performance/daily?start=2026-01-01&end=yesterday'), ['end']);
    expectInvalidFields(await get('/api/v1/performance/daily?start=2026-03-02&end=2026-03-01'), ['start']);
    expectInvalidFields(await get('/api/v1/performance/daily?start=2025-01-01&end=2026-01-01'), ['end']);
    expectInvalidFields(await get('/api/v1/performance/daily?strategy_id=bad%20id'), ['strategy_id']);
    // 90 days is the default limit: exactly 90 passes.
    expect((await get('/api/v1/performance/daily?start=2026-01-01&end=2026-03-31')).status).toBe(200);
  });

  it('GET /strategies and /strategies/{id}: state, activity, positions, P&L of the day', async () => {
    const res = await get('/api/v1/strategies');
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.strategies.map((s: { strategy_id: string }) => [s.strategy_id, s]));
    expect(byId.alpha).toMatchObject({
      state: 'active',
      activity: 'active',
      state_reason: null,
      open_orders: 0,
      positions: [{ symbol: 'PNL', qty: '-40' }],
      realized_pl_today: '0',
      unrealized_pl: '-40',
      heartbeat: null,
    });
    expect(typeof byId.alpha.last_order_at).toBe('string');
    expect(typeof byId.alpha.last_fill_at).toBe('string');
    const beta = await get('/api/v1/strategies/beta');
    expect(beta.body).toMatchObject({ strategy_id: 'beta', realized_pl_today: '20', unrealized_pl: '-60' });
    expectError(await get('/api/v1/strategies/nobody'), 404, 'STRATEGY_NOT_FOUND');
    expectInvalidFields(await get('/api/v1/strategies/bad%20id'), ['id']);
  });

  it("a key scoped to alpha sees only alpha: its strategies, its book's P&L, no unattributed", async () => {
    const scoped = await createKey(t, ['VIEW_ORDERS', 'VIEW_PNL', 'SUBMIT_ORDER'], ['alpha'], { name: 'alpha-only' });
    const as = (path: string) => t.http.get(path).set(scoped.auth);
    const list = await as('/api/v1/strategies');
    expect(list.body.strategies.map((s: { strategy_id: string }) => s.strategy_id)).toEqual(['alpha']);
    expectError(await as('/api/v1/strategies/beta'), 404, 'STRATEGY_NOT_FOUND');
    expectError(await as('/api/v1/positions/pnl/realtime?strategy_id=beta'), 403, 'STRATEGY_FORBIDDEN');
    expectError(await as('/api/v1/performance/daily?strategy_id=beta'), 403, 'STRATEGY_FORBIDDEN');
    const pnl = await as('/api/v1/positions/pnl/realtime');
    expect(pnl.body).toMatchObject({
      positions: [{ symbol: 'PNL', qty: '-40', unrealized_pl: '-40' }],
      unattributed: null,
    });
    const perf = await as(`/api/v1/performance/daily?start=${today}&end=${today}`);
    expect(perf.body.days.map((d: { strategy_id: string }) => d.strategy_id)).toEqual(['alpha']);
    expect(perf.body.unattributed).toBeNull();
    const hb = await t.http.post('/api/v1/strategies/beta/heartbeat').set(scoped.auth).send({ timeout_seconds: 60 });
    expectError(hb, 403, 'STRATEGY_FORBIDDEN');
  });
});

describe('performance dashboard switched off (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { FEATURE_PERFORMANCE_DASHBOARD: 'false' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 404 FEATURE_DISABLED', async () => {
    expectError(await t.http.get('/api/v1/performance/daily').set(auth), 404, 'FEATURE_DISABLED');
  });
});

describe('books kept up to date between reads (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { PERFORMANCE_CACHE_TTL: '0' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const book = async () =>
    (await t.http.get('/api/v1/positions/pnl/realtime?strategy_id=late').set(auth)).body as {
      positions: Array<{ qty: string; avg_entry_price: string; realized_pl: string }>;
    };

  it('new fills extend the books; a fill recorded late, executed earlier, replays them in execution order', async () => {
    const base = Date.now() - 60_000;
    await filledOrder(t, {
      strategyId: 'late',
      symbol: 'LATE',
      side: 'buy',
      qty: '10',
      price: '10',
      at: new Date(base),
    });
    expect((await book()).positions).toMatchObject([{ qty: '10', avg_entry_price: '10', realized_pl: '0' }]);
    await filledOrder(t, {
      strategyId: 'late',
      symbol: 'LATE',
      side: 'buy',
      qty: '10',
      price: '20',
      at: new Date(base + 2000),
    });
    expect((await book()).positions).toMatchObject([{ qty: '20', avg_entry_price: '15', realized_pl: '0' }]);
    // Executed before both: short 5 @ 12, the first buy closes it (+10) and opens 5 @ 10, the second makes
    // 15 @ 16.66666667 (the average's rounding remainder, 0.00000005, is realized on the increase).
    // Applied after them instead, it would realize −15 on a 20 @ 15 long.
    await filledOrder(t, {
      strategyId: 'late',
      symbol: 'LATE',
      side: 'sell',
      qty: '5',
      price: '12',
      at: new Date(base - 2000),
    });
    expect((await book()).positions).toMatchObject([
      { qty: '15', avg_entry_price: '16.66666667', realized_pl: '10.00000005' },
    ]);
    const today = new Date().toISOString().slice(0, 10);
    const perf = await t.http.get(`/api/v1/performance/daily?strategy_id=late&start=${today}&end=${today}`).set(auth);
    expect(perf.body.totals).toMatchObject({ fills: 3, buy_notional: '300', sell_notional: '60' });
  });
});

describe('books restored at start from the checkpoint (e2e)', () => {
  let a: TestApp;
  let b: TestApp | undefined;
  beforeAll(async () => {
    a = await startTestApp();
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const book = async (t: TestApp) =>
    (await t.http.get('/api/v1/positions/pnl/realtime?strategy_id=ckpt').set(auth)).body as {
      positions: Array<{ qty: string; avg_entry_price: string; realized_pl: string }>;
    };

  it('a replica that starts extends the saved books instead of replaying; a fill recorded late still replays them', async () => {
    const base = Date.now() - 60_000;
    const fill = (side: 'buy' | 'sell', qty: string, price: string, at: number) =>
      filledOrder(a, { strategyId: 'ckpt', symbol: 'CKP', side, qty, price, at: new Date(at) });
    await fill('buy', '10', '10', base);
    await fill('buy', '10', '20', base + 2000);
    expect((await book(a)).positions).toMatchObject([{ qty: '20', avg_entry_price: '15', realized_pl: '0' }]);
    const saved = await eventually(
      async () => (await a.db.query(`SELECT fills_applied::int AS n FROM strategy_book_checkpoints`))[0]?.n,
      (n) => n === 2,
    );
    expect(saved).toBe(2);
    // Marks the saved books, so what the next replica serves shows where it came from.
    await a.db.query(
      `UPDATE strategy_book_checkpoints SET books = jsonb_set(books, '{positions,0,4}', '"7"') WHERE id = 1`,
    );
    b = await startTestApp({ database: a.database });
    // Restored (the mark), then extended with a fill executed after the checkpoint's last one.
    await filledOrder(b, {
      strategyId: 'ckpt',
      symbol: 'CKP',
      side: 'sell',
      qty: '5',
      price: '17',
      at: new Date(base + 4000),
    });
    expect((await book(b)).positions).toMatchObject([{ qty: '15', avg_entry_price: '15', realized_pl: '17' }]);
    // A fill executed before the checkpoint's last one: the books are replayed from every fill, exactly.
    await filledOrder(b, {
      strategyId: 'ckpt',
      symbol: 'CKP',
      side: 'sell',
      qty: '5',
      price: '12',
      at: new Date(base - 2000),
    });
    expect((await book(b)).positions).toMatchObject([
      { qty: '10', avg_entry_price: '16.66666667', realized_pl: '11.6666667' },
    ]);
  });
});
