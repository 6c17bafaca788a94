/**
 * Market data contract: the real SDK and the Alpaca adapter against the fake
 * Alpaca's data endpoints (latest trade, daily bars, failures).
 */
import { SystemClock } from '../../../src/infra/clock/clock';
import { newYorkDate } from '../../../src/market-data/alpaca/alpaca-market-data.parse';
import { AlpacaMarketDataProvider } from '../../../src/market-data/alpaca/alpaca-market-data.provider';
import { MarketDataUnavailableError } from '../../../src/market-data/market-data.port';
import { DEFAULT_BAR_VOLUME } from '../../support/fake-alpaca/fake-alpaca.market-data';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';

const DAY_MS = 86_400_000;
const ADV_DAYS = 5;

const fake = new FakeAlpacaServer();
let provider: AlpacaMarketDataProvider;

function adapter(overrides: Partial<ConstructorParameters<typeof AlpacaMarketDataProvider>[0]> = {}) {
  return new AlpacaMarketDataProvider({
    keyId: fake.keyId,
    secretKey: fake.secretKey,
    dataUrl: fake.baseUrl,
    advDays: ADV_DAYS,
    clock: new SystemClock(),
    requestTimeoutMs: 2000,
    ...overrides,
  });
}

async function unavailable(p: Promise<unknown>): Promise<MarketDataUnavailableError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(MarketDataUnavailableError);
  const e = caught as MarketDataUnavailableError;
  expect(e.code).toBe('MARKET_DATA_UNAVAILABLE');
  expect(e.kind).toBe('unavailable');
  return e;
}

beforeAll(async () => {
  await fake.start();
  provider = adapter();
});

afterEach(() => fake.reset());

afterAll(async () => {
  await fake.stop();
});

describe('Alpaca market data adapter (real SDK against the fake)', () => {
  describe('latest price', () => {
    it("a fresh trade: its exact decimal price and the exchange's timestamp", async () => {
      const at = new Date(Date.now() - 1500);
      fake.marketData.setTrade('AAPL', { price: '187.1234', at });
      const p = await provider.latestPrice('AAPL');
      expect(p).toEqual({ symbol: 'AAPL', price: '187.1234', timestamp: at, source: 'trade' });
      const [req] = fake.marketData.requests('trades/latest');
      expect(req).toMatchObject({ symbol: 'AAPL', keyId: fake.keyId });
    });

    it('a stale trade keeps its old timestamp (never the fetch time)', async () => {
      const at = new Date('2025-12-01T20:59:59.987Z');
      fake.marketData.setTrade('IBM', { price: '0.1', at });
      const p = await provider.latestPrice('IBM');
      expect(p?.timestamp.toISOString()).toBe('2025-12-01T20:59:59.987Z');
      expect(p?.price).toBe('0.1');
    });

    it('no trade → the quote midpoint, with the quote time', async () => {
      const at = new Date(Date.now() - 3000);
      fake.marketData.clearTrade('NVDA');
      fake.marketData.setQuote('NVDA', { bid: '100.01', ask: '100.04', at });
      expect(await provider.latestPrice('NVDA')).toEqual({
        symbol: 'NVDA',
        price: '100.025',
        timestamp: at,
        source: 'quote',
      });
      expect(fake.marketData.requests('quotes/latest')).toHaveLength(1);
    });

    it('a canceled trade does not count: the quote decides', async () => {
      fake.marketData.setTrade('AMD', { price: '999', at: new Date(), update: 'canceled' });
      fake.marketData.setQuote('AMD', { bid: '120', ask: '121', at: new Date() });
      expect(await provider.latestPrice('AMD')).toMatchObject({ price: '120.5', source: 'quote' });
    });

    it('a symbol nobody configured trades at the fake exchange price, fresh', async () => {
      fake.setPrice('TSLA', '250.55');
      const before = Date.now();
      const p = await provider.latestPrice('TSLA');
      expect(p).toMatchObject({ price: '250.55', source: 'trade' });
      expect(p!.timestamp.getTime()).toBeGreaterThanOrEqual(before - 5);
    });

    it('an unknown symbol → null (404 on trade and quote)', async () => {
      fake.marketData.makeUnknown('ZZZZ');
      expect(await provider.latestPrice('ZZZZ')).toBeNull();
      expect(fake.marketData.requests('trades/latest')).toHaveLength(1);
      expect(fake.marketData.requests('quotes/latest')).toHaveLength(1);
    });

    it('a one-sided quote and no trade → null', async () => {
      fake.marketData.clearTrade('HALF');
      fake.marketData.setQuote('HALF', { bid: '0', ask: '10', at: new Date() });
      expect(await provider.latestPrice('HALF')).toBeNull();
    });
  });

  describe('failures are "cannot know", not "no price"', () => {
    it.each([500, 502, 503, 504])('%d → MarketDataUnavailableError; the next call succeeds', async (status) => {
      fake.marketData.setTrade('AAPL', { price: '10', at: new Date() });
      fake.marketData.failNext(1, status, 'trades/latest');
      const e = await unavailable(provider.latestPrice('AAPL'));
      expect(e.message).toContain(String(status));
      expect(fake.marketData.requests('trades/latest')).toHaveLength(1); // no hidden retry
      expect((await provider.latestPrice('AAPL'))?.price).toBe('10');
    });

    it('5xx on the quote fallback → unavailable, not null', async () => {
      fake.marketData.clearTrade('NVDA');
      fake.marketData.failNext(1, 503, 'quotes/latest');
      await unavailable(provider.latestPrice('NVDA'));
    });

    it('5xx on bars → unavailable', async () => {
      fake.marketData.failNext(1, 500, 'bars');
      await unavailable(provider.averageDailyVolume('AAPL'));
    });

    it('a timeout → unavailable, within the deadline', async () => {
      const quick = adapter({ requestTimeoutMs: 300 });
      fake.marketData.delayNext(3000, 1, 'trades/latest');
      const started = Date.now();
      const e = await unavailable(quick.latestPrice('AAPL'));
      expect(e.message).toContain('300 ms');
      expect(Date.now() - started).toBeLessThan(2500);
    });

    it('a dropped connection → unavailable', async () => {
      fake.marketData.dropNext(1, 'trades/latest');
      await unavailable(provider.latestPrice('AAPL'));
    });

    it('refused credentials → unavailable', async () => {
      await unavailable(adapter({ secretKey: 'wrong-secret' }).latestPrice('AAPL'));
    });

    it('nothing listening → unavailable', async () => {
      await unavailable(adapter({ dataUrl: 'http://127.0.0.1:1' }).latestPrice('AAPL'));
    });
  });

  describe('average daily volume', () => {
    it(`averages the last ${ADV_DAYS} completed sessions in decimals, leaving out today`, async () => {
      const now = Date.now();
      const bars = [
        { date: newYorkDate(new Date(now)), volume: 7 }, // today: partial
        ...[1, 2, 3, 4, 5, 6, 7].map((i) => ({
          date: newYorkDate(new Date(now - i * DAY_MS)),
          volume: i === 1 ? 5001 : 1000 * (7 - i),
        })),
      ];
      fake.marketData.setBars('AAPL', bars);
      const adv = await provider.averageDailyVolume('AAPL');
      // Sessions 1..5 days back: 5001, 5000, 4000, 3000, 2000.
      expect(adv).toEqual({
        symbol: 'AAPL',
        adv: '3800.2',
        days: ADV_DAYS,
        asOf: new Date(`${newYorkDate(new Date(now - DAY_MS))}T05:00:00Z`),
      });
      const [req] = fake.marketData.requests('bars');
      expect(req.query).toMatchObject({
        timeframe: '1Day',
        sort: 'desc',
        limit: String(ADV_DAYS + 1),
        adjustment: 'split',
      });
      expect(new Date(req.query.start).getTime()).toBeLessThan(now - 7 * DAY_MS);
      expect(req.query.end).toBeUndefined();
    });

    it('fewer bars than days: the average of what there is', async () => {
      fake.marketData.setBars('NEW', [{ date: newYorkDate(new Date(Date.now() - 2 * DAY_MS)), volume: 12345 }]);
      expect(await provider.averageDailyVolume('NEW')).toMatchObject({ adv: '12345', days: 1 });
    });

    it('an unknown symbol (bars: null) → null', async () => {
      fake.marketData.makeUnknown('ZZZZ');
      expect(await provider.averageDailyVolume('ZZZZ')).toBeNull();
    });

    it("a symbol nobody configured has the fake's default volume", async () => {
      expect(await provider.averageDailyVolume('MSFT')).toMatchObject({
        adv: String(DEFAULT_BAR_VOLUME),
        days: ADV_DAYS,
      });
    });
  });
});
