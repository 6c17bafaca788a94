import { ManualClock } from '../../../src/infra/clock/clock';
import { auth, startTestApp, TestApp } from '../../support/app';
import { filledOrder } from './fills';

const TTL_SECONDS = 30;

/**
 * GET /performance/daily is cached for PERFORMANCE_CACHE_TTL seconds per range
 * and scope (docs/strategies-and-pnl.md#daily-performance): within the TTL a
 * new fill is not visible yet; once it has passed (the manual clock moves on),
 * the answer is computed again.
 */
describe('daily performance cache (e2e)', () => {
  const clock = new ManualClock(new Date(Math.floor(Date.now() / 1000) * 1000));
  const today = clock.now().toISOString().slice(0, 10);
  const path = `/api/v1/performance/daily?strategy_id=cache_a&start=${today}&end=${today}`;
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ clock, env: { PERFORMANCE_CACHE_TTL: String(TTL_SECONDS) } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const get = async (p = path) => {
    const res = await t.http.get(p).set(auth);
    expect(res.status).toBe(200);
    return res.body as { days: Array<Record<string, unknown>>; as_of: string };
  };
  const advance = (seconds: number) => clock.set(new Date(clock.now().getTime() + seconds * 1000));

  it('serves a second request within the TTL from the cache, and a fresh answer after it', async () => {
    await filledOrder(t, {
      strategyId: 'cache_a',
      symbol: 'CCH',
      side: 'buy',
      qty: '10',
      price: '10',
      at: clock.now(),
    });
    const first = await get();
    expect(first.days).toEqual([expect.objectContaining({ strategy_id: 'cache_a', fills: 1, realized_pl: '0' })]);

    // A second fill, closing 4 at 12 (+8), recorded now.
    advance(1);
    await filledOrder(t, {
      strategyId: 'cache_a',
      symbol: 'CCH',
      side: 'sell',
      qty: '4',
      price: '12',
      at: clock.now(),
    });
    advance(TTL_SECONDS - 2); // 29 s after the first answer: still within the TTL
    const cached = await get();
    expect(cached).toEqual(first); // the same answer, as_of included: the new fill is not visible yet

    // The same range for every strategy is another cache entry: computed now, the fill is in it.
    const other = await get(`/api/v1/performance/daily?start=${today}&end=${today}`);
    expect(other.days).toEqual([
      expect.objectContaining({ strategy_id: 'cache_a', fills: 2, realized_pl: '8', sell_notional: '48' }),
    ]);

    advance(1); // TTL_SECONDS after the first answer: stale
    const fresh = await get();
    expect(fresh.as_of).toBe(clock.now().toISOString());
    expect(fresh.days).toEqual([
      expect.objectContaining({ strategy_id: 'cache_a', fills: 2, realized_pl: '8', buy_notional: '100', orders: 2 }),
    ]);
  });
});
