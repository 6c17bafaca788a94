/**
 * Evaluates the automatic trip conditions (daily loss, drawdown from the UTC
 * day's peak equity, stale market data for held symbols) every
 * CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS, on the leader replica only, so the
 * broker's account is not polled by every replica. Broker-error bursts are
 * counted elsewhere (CircuitBreakerService), on every replica.
 *
 * A condition that cannot be evaluated (database, broker or market data
 * failure) is logged and counted in a metric, not treated as a trip, except
 * that a held symbol whose price cannot be had counts as stale.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { BROKER_CLIENT, BrokerClient } from '../../broker/broker-client.port';
import { Decimal } from '../../common/decimal';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { Scheduler, TaskHandle } from '../../infra/clock/scheduler';
import { LeaderElection } from '../../infra/leader/leader-election.service';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { DailyPnlService } from '../../positions/daily-pnl.service';
import { utcTradeDate } from '../../positions/domain/daily-pnl';
import { PositionRepository } from '../../positions/persistence/position.repository';
import {
  evaluateDailyLoss,
  evaluateDrawdown,
  evaluateStaleMarketData,
  HeldSymbolPrice,
  TripDecision,
} from './circuit-breaker-rules';
import { CircuitBreakerRepository } from './circuit-breaker.repository';
import { CircuitBreakerService } from './circuit-breaker.service';

type Condition = 'DAILY_LOSS' | 'DRAWDOWN' | 'STALE_MARKET_DATA';

@Injectable()
export class CircuitBreakerMonitor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('CircuitBreakerMonitor');
  private timer?: TaskHandle;
  private running?: Promise<unknown>;
  private stopped = false;
  /** Last failure message per condition: logged as a warning when it changes, not on every pass. */
  private readonly failures = new Map<Condition, string>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly breaker: CircuitBreakerService,
    private readonly leader: LeaderElection,
    private readonly dailyPnl: DailyPnlService,
    private readonly positions: PositionRepository,
    private readonly repo: CircuitBreakerRepository,
    private readonly metrics: GatewayMetrics,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.circuitBreakerEnabled) return;
    this.timer = this.scheduler.every(this.config.circuitBreaker.checkIntervalSeconds * 1000, () => this.tick(), {
      name: 'circuit-breaker-monitor',
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    await this.running?.catch(() => undefined);
  }

  /** One pass on the leader; skipped while the previous one runs. */
  async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    const run = this.leader.whenLeader(() => this.evaluateAndTrip());
    this.running = run;
    try {
      await run;
    } catch (err) {
      this.logger.warn(`circuit-breaker check failed: ${(err as Error).message}`);
    } finally {
      this.running = undefined;
    }
  }

  /** Evaluates every condition and trips on the first that holds. Answers that trip, if any. */
  async evaluateAndTrip(): Promise<TripDecision | null> {
    const decisions = [await this.dailyLoss(), await this.drawdown(), await this.staleMarketData()];
    const decision = decisions.find((d) => d !== null) ?? null;
    if (!decision) return null;
    const view = this.breaker.current();
    if (view.readable && view.tripped) return decision;
    if (await this.breaker.autoTrip(decision)) {
      this.logger.warn(`circuit breaker tripped automatically (${decision.reasonCode}): ${decision.reason}`);
    }
    return decision;
  }

  private async dailyLoss(): Promise<TripDecision | null> {
    return this.guard('DAILY_LOSS', async () => {
      const pnl = await this.dailyPnl.compute();
      const d = evaluateDailyLoss(pnl.total, this.config.riskLimits.dailyLossLimit);
      if (!d) return null;
      return {
        ...d,
        details: {
          ...d.details,
          trade_date: pnl.tradeDate,
          realized: pnl.realized,
          unrealized: pnl.unrealized,
          unpriced: pnl.unpriced,
        },
      };
    });
  }

  private async drawdown(): Promise<TripDecision | null> {
    return this.guard('DRAWDOWN', async () => {
      const account = await this.broker.getAccount();
      const tradeDate = utcTradeDate(this.clock.now());
      const peak = await this.repo.recordEquity(tradeDate, new Decimal(account.equity).toFixed());
      const d = evaluateDrawdown(account.equity, peak, this.config.riskLimits.maxDrawdownPct);
      return d && { ...d, details: { ...d.details, trade_date: tradeDate } };
    });
  }

  private async staleMarketData(): Promise<TripDecision | null> {
    return this.guard('STALE_MARKET_DATA', async () => {
      const held = (await this.positions.listAll()).filter((p) => !new Decimal(p.qty).isZero());
      if (!held.length) return null;
      const md = this.dailyPnl.marketDataProvider();
      if (!md) throw new Error('no market data provider is bound');
      const prices = await Promise.all(
        held.map(async (p): Promise<HeldSymbolPrice> => {
          try {
            const obs = await md.latestPrice(p.symbol);
            return obs
              ? { symbol: p.symbol, qty: p.qty, kind: 'price', timestamp: obs.timestamp }
              : { symbol: p.symbol, qty: p.qty, kind: 'none' };
          } catch (err) {
            return { symbol: p.symbol, qty: p.qty, kind: 'unavailable', error: (err as Error).message };
          }
        }),
      );
      return evaluateStaleMarketData(prices, this.clock.now(), this.config.circuitBreaker.staleMarketDataSeconds);
    });
  }

  private async guard(condition: Condition, fn: () => Promise<TripDecision | null>): Promise<TripDecision | null> {
    try {
      const d = await fn();
      if (this.failures.delete(condition)) this.logger.log(`${condition} can be evaluated again`);
      return d;
    } catch (err) {
      const message = (err as Error).message;
      this.metrics.circuitBreakerCheckFailed(condition);
      if (this.failures.get(condition) !== message) {
        this.logger.warn(`${condition} not evaluated (no trip): ${message}`);
        this.failures.set(condition, message);
      }
      return null;
    }
  }
}
