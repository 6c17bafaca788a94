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
      this.marketPoints(unique),
      withLastFill ? this.lastFills(unique) : Promise.resolve(new Map<string, PricePoint>()),
    ]);
    return this.choose(unique, market, fills);
  }

  /** The last fill price (and time) of each of `symbols` that has a fill. */
  lastFills(symbols: readonly string[]): Promise<Map<string, PricePoint>> {
    return symbols.length ? this.positions.lastFillPrices(symbols) : Promise.resolve(new Map());
  }

  /** The mark of each of `symbols` now, from market prices and last fills already read. */
  choose(
    symbols: readonly string[],
    market: ReadonlyMap<string, PricePoint | null>,
    fills: ReadonlyMap<string, PricePoint>,
  ): Map<string, Mark> {
    const now = this.clock.now();
    const out = new Map<string, Mark>();
    for (const s of symbols) out.set(s, chooseMark(market.get(s) ?? null, fills.get(s) ?? null, now, this.maxAgeMs));
    return out;
  }

  /** Market prices: one batch from the cached provider when it has one, else one lookup per symbol. */
  async marketPoints(symbols: readonly string[]): Promise<Map<string, PricePoint | null>> {
    const out = new Map<string, PricePoint | null>();
    if (!symbols.length) return out;
    if (this.marketData.latestPrices) {
      try {
        for (const [s, obs] of await this.marketData.latestPrices(symbols)) {
          out.set(s, obs ? { price: obs.price, at: obs.timestamp } : null);
        }
      } catch (err) {
        this.logger.debug(`no market prices: ${(err as Error).message}`);
      }
      return out;
    }
    const points = await Promise.all(symbols.map((s) => this.marketPrice(s)));
    symbols.forEach((s, i) => out.set(s, points[i]));
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
