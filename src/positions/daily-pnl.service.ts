import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Decimal } from '../common/decimal';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { Scheduler, TaskHandle } from '../infra/clock/scheduler';
import { MARKET_DATA, MarketDataProvider } from '../market-data/market-data.port';
import { computeDailyPnl, DailyPnl, PricedPosition, utcMidnight } from './domain/daily-pnl';
import { PositionRecord, PositionRepository } from './persistence/position.repository';

export type { DailyPnl } from './domain/daily-pnl';

/**
 * Today's P&L (UTC day of the Clock): realized from today's fills, unrealized
 * on open positions at the latest market price (falling back to the
 * position's stored current_price). Every replica recomputes it every
 * CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS, so the DAILY_LOSS_LIMIT check can
 * read `latest()` from memory on the order path.
 */
@Injectable()
export class DailyPnlService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('DailyPnl');
  private last: DailyPnl | null = null;
  private timer?: TaskHandle;
  private running?: Promise<unknown>;
  private marketData?: MarketDataProvider | null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly positions: PositionRepository,
    private readonly clock: Clock,
    private readonly moduleRef: ModuleRef,
    private readonly scheduler: Scheduler,
  ) {}

  onApplicationBootstrap(): void {
    void this.refresh();
    this.timer = this.scheduler.every(this.config.circuitBreaker.checkIntervalSeconds * 1000, () => this.refresh(), {
      name: 'daily-pnl',
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.timer?.cancel();
    await this.running?.catch(() => undefined);
  }

  /** The last figure computed on this replica (with its computedAt), or null before the first. */
  latest(): DailyPnl | null {
    return this.last;
  }

  /** Computes the figure now (and keeps it as the latest). Throws when the database cannot be read. */
  async compute(): Promise<DailyPnl> {
    const now = this.clock.now();
    const [realized, all] = await Promise.all([
      this.positions.realizedSince(utcMidnight(now)),
      this.positions.listAll(),
    ]);
    const open = all.filter((p) => !new Decimal(p.qty).isZero());
    const priced = await Promise.all(open.map((p) => this.price(p)));
    const pnl = computeDailyPnl(realized, priced, now);
    if (!this.last || this.last.computedAt.getTime() <= pnl.computedAt.getTime()) this.last = pnl;
    return pnl;
  }

  /** The market data provider, when the application binds one (looked up once, anywhere in the app). */
  marketDataProvider(): MarketDataProvider | null {
    if (this.marketData === undefined) {
      try {
        this.marketData = this.moduleRef.get<MarketDataProvider>(MARKET_DATA, { strict: false });
      } catch {
        this.marketData = null;
      }
    }
    return this.marketData;
  }

  private async price(p: PositionRecord): Promise<PricedPosition> {
    const base = { symbol: p.symbol, qty: p.qty, avgEntryPrice: p.avgEntryPrice };
    const md = this.marketDataProvider();
    if (md) {
      try {
        const obs = await md.latestPrice(p.symbol);
        if (obs) return { ...base, price: obs.price, priceSource: 'market_data' };
      } catch (err) {
        this.logger.debug(`no market price for ${p.symbol}: ${(err as Error).message}`);
      }
    }
    if (p.currentPrice !== null) return { ...base, price: p.currentPrice, priceSource: 'position' };
    return { ...base, price: null, priceSource: null };
  }

  private async refresh(): Promise<void> {
    if (this.running) return;
    const run = this.compute().catch((err: unknown) => {
      this.logger.warn(`daily P&L not computed: ${(err as Error).message}`);
    });
    this.running = run;
    await run;
    this.running = undefined;
  }
}
