/**
 * Market data as the gateway wires it: the cached Alpaca adapter aimed at the
 * fake (BROKER=alpaca), or the sim priced like the sim exchange.
 */
import { BROKER_CLIENT } from '../../../src/broker/broker-client.port';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { AlpacaMarketDataProvider } from '../../../src/market-data/alpaca/alpaca-market-data.provider';
import { CachedMarketDataProvider } from '../../../src/market-data/cached-market-data.provider';
import { MARKET_DATA, type MarketDataProvider } from '../../../src/market-data/market-data.port';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { startTestApp } from '../../support/app';

const fake = new FakeAlpacaServer();

beforeAll(async () => {
  await fake.start();
});

afterEach(() => fake.reset());

afterAll(async () => {
  await fake.stop();
});

describe('MarketDataModule in the gateway', () => {
  it('BROKER=alpaca: MARKET_DATA is the cached Alpaca adapter aimed at ALPACA_DATA_URL', async () => {
    const t = await startTestApp({
      env: {
        BROKER: 'alpaca',
        ALPACA_API_KEY_ID: fake.keyId,
        ALPACA_API_SECRET_KEY: fake.secretKey,
        ALPACA_BASE_URL: fake.baseUrl,
        ALPACA_DATA_URL: fake.baseUrl,
        ALPACA_STREAM_URL: fake.streamUrl,
        MARKET_DATA_PRICE_CACHE_MS: '60000',
      },
    });
    try {
      const md = t.app.get<MarketDataProvider>(MARKET_DATA);
      expect(md).toBeInstanceOf(CachedMarketDataProvider);
      expect((md as CachedMarketDataProvider).inner).toBeInstanceOf(AlpacaMarketDataProvider);
      fake.marketData.setTrade('AAPL', { price: '187.5', at: new Date('2026-01-02T15:00:00Z') });
      const [a, b] = await Promise.all([md.latestPrice('AAPL'), md.latestPrice('AAPL')]);
      expect(a).toEqual(b);
      expect(a?.price).toBe('187.5');
      expect(await md.latestPrice('AAPL')).toEqual(a);
      expect(fake.marketData.requests('trades/latest')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('BROKER=sim: MARKET_DATA prices like the sim exchange; a test-controlled sim is seen at once', async () => {
    const broker = new SimBrokerClient({ clock: new SystemClock(), referencePrices: { AAPL: '187.25' } });
    const sim = new SimMarketDataProvider({ clock: new SystemClock(), priceSource: broker });
    const t = await startTestApp({ broker, marketData: sim, env: { MARKET_DATA_PRICE_CACHE_MS: '60000' } });
    try {
      const md = t.app.get<MarketDataProvider>(MARKET_DATA);
      expect((await md.latestPrice('AAPL'))?.price).toBe('187.25');
      sim.setPrice('AAPL', '190');
      expect((await md.latestPrice('AAPL'))?.price).toBe('190');
      sim.setNoData('AAPL');
      expect(await md.latestPrice('AAPL')).toBeNull();
    } finally {
      await t.close();
    }
  });

  it('BROKER=sim by default, priced from the bound sim broker', async () => {
    const t = await startTestApp();
    try {
      const md = t.app.get<MarketDataProvider>(MARKET_DATA);
      expect((md as CachedMarketDataProvider).inner).toBeInstanceOf(SimMarketDataProvider);
      expect(await md.latestPrice('AAPL')).toMatchObject({ price: '100', source: 'sim' });
      t.app.get<SimBrokerClient>(BROKER_CLIENT).setPrice('MSFT', '321.5');
      expect(await md.latestPrice('MSFT')).toMatchObject({ price: '321.5', source: 'sim' });
    } finally {
      await t.close();
    }
  });
});
