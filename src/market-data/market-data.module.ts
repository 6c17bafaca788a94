import { Logger, Module } from '@nestjs/common';
import { BROKER_CLIENT, type BrokerClient } from '../broker/broker-client.port';
import { BrokerModule } from '../broker/broker.module';
import { SimBrokerClient } from '../broker/sim/sim-broker.client';
import { APP_CONFIG, type AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { redactUrl } from '../infra/redact-url';
import { AlpacaMarketDataProvider } from './alpaca/alpaca-market-data.provider';
import { CachedMarketDataProvider } from './cached-market-data.provider';
import { MARKET_DATA, type MarketDataProvider } from './market-data.port';
import { SimMarketDataProvider } from './sim/sim-market-data.provider';

/** A market-data adapter handed in by the composition root (tests). */
export const MARKET_DATA_OVERRIDE = Symbol('MARKET_DATA_OVERRIDE');

/**
 * Binds MARKET_DATA to the cached provider: Alpaca's market data when
 * BROKER=alpaca, else the sim (priced like the sim exchange when the broker
 * is one). A test's override (MARKET_DATA_OVERRIDE) replaces the adapter; the cache still wraps it,
 * and a SimMarketDataProvider's test settings drop the symbol from the cache.
 */
@Module({
  imports: [BrokerModule],
  providers: [
    {
      provide: MARKET_DATA,
      inject: [APP_CONFIG, Clock, BROKER_CLIENT, { token: MARKET_DATA_OVERRIDE, optional: true }],
      useFactory: (
        config: AppConfig,
        clock: Clock,
        broker: BrokerClient,
        override?: MarketDataProvider,
      ): MarketDataProvider => {
        const inner = override ?? MarketDataModule.adapter(config, clock, broker);
        const cached = new CachedMarketDataProvider(inner, clock, {
          priceTtlMs: config.marketData.priceCacheMs,
          advTtlMs: config.marketData.advCacheSeconds * 1000,
        });
        if (inner instanceof SimMarketDataProvider) inner.onChange((symbol) => cached.invalidate(symbol));
        return cached;
      },
    },
  ],
  exports: [MARKET_DATA],
})
export class MarketDataModule {
  private static adapter(config: AppConfig, clock: Clock, broker: BrokerClient): MarketDataProvider {
    const logger = new Logger('MarketData');
    if (config.broker.kind === 'alpaca') {
      const a = config.broker.alpaca;
      logger.log(`market data: alpaca at ${redactUrl(a.dataUrl)}`);
      return new AlpacaMarketDataProvider({
        keyId: a.keyId!,
        secretKey: a.secretKey!,
        dataUrl: a.dataUrl,
        advDays: config.marketData.advDays,
        clock,
      });
    }
    const priceSource = broker instanceof SimBrokerClient ? broker : undefined;
    logger.log(`market data: sim (${priceSource ? "the sim exchange's reference prices" : 'default prices'})`);
    return new SimMarketDataProvider({ clock, priceSource, advDays: config.marketData.advDays });
  }
}
