import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { MARKET_DATA, MarketDataProvider } from '../market-data/market-data.port';
import { chooseMark, Mark, PricePoint } from './domain/mark';
import { PositionRepository } from './persistence/position.repository';

export type { Mark, PriceSource } from './domain/mark';

/**
 * Marks symbols to market: the cached market-data price when fresh, else the
 * last fill price, else none (docs/strategies-and-pnl.md#marking-to-market).
 * A market-data failure is not an error here: the mark falls back.
 */
@Injectable()
export class PositionMarks {
  private readonly logger = new Logger('PositionMarks');
  private readonly maxAgeMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(MARKET_DATA) private readonly marketData: MarketDataProvider,
    private readonly positions: PositionRepository,
    private readonly clock: Clock,
  ) {
    this.maxAgeMs = config.fatFinger.maxPriceAgeSeconds * 1000;
  }

  /** The mark of every symbol in `symbols`; `withLastFill` false marks from market data only. */
  async marks(symbols: readonly string[], withLastFill = true): Promise<Map<string, Mark>> {
    const unique = [...new Set(symbols)];
    const [market, fills] = await Promise.all([
      Promise.all(unique.map((s) => this.marketPrice(s))),
      withLastFill && unique.length
        ? this.positions.lastFillPrices(unique)
        : Promise.resolve(new Map<string, PricePoint>()),
    ]);
    const now = this.clock.now();
    const out = new Map<string, Mark>();
    unique.forEach((s, i) => out.set(s, chooseMark(market[i], fills.get(s) ?? null, now, this.maxAgeMs)));
    return out;
  }

  private async marketPrice(symbol: string): Promise<PricePoint | null> {
    try {
      const obs = await this.marketData.latestPrice(symbol);
      return obs ? { price: obs.price, at: obs.timestamp } : null;
    } catch (err) {
      this.logger.debug(`no market price for ${symbol}: ${(err as Error).message}`);
      return null;
    }
  }
}
