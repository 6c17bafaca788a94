import { Logger } from '@nestjs/common';
import { BrokerClient } from '../../broker/broker-client.port';
import { Decimal } from '../../common/decimal';
import { AppConfig } from '../../config/app-config';
import { ManualClock } from '../../infra/clock/clock';
import { ManualScheduler } from '../../infra/clock/manual-scheduler';
import { LeaderElection } from '../../infra/leader/leader-election.service';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { MarketDataProvider, MarketDataUnavailableError } from '../../market-data/market-data.port';
import { DailyPnlService } from '../../positions/daily-pnl.service';
import { PositionRepository } from '../../positions/persistence/position.repository';
import { TripDecision } from './circuit-breaker-rules';
import { CircuitBreakerMonitor } from './circuit-breaker-monitor.service';
import { CircuitBreakerRepository } from './circuit-breaker.repository';
import { CircuitBreakerService } from './circuit-breaker.service';

describe('CircuitBreakerMonitor', () => {
  const clock = new ManualClock(new Date('2026-01-02T15:00:00.000Z'));
  let equity: string;
  let total: string;
  let held: Array<{ symbol: string; qty: string }>;
  let md: jest.Mocked<MarketDataProvider> | null;
  let peaks: Map<string, string>;
  let trips: TripDecision[];
  let metrics: { circuitBreakerCheckFailed: jest.Mock };
  let getAccount: jest.Mock;
  let monitor: CircuitBreakerMonitor;
  let scheduler: ManualScheduler;
  let compute: jest.Mock;
  let enabled: boolean;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    equity = '100000';
    total = '0';
    held = [];
    md = null;
    peaks = new Map();
    trips = [];
    metrics = { circuitBreakerCheckFailed: jest.fn() };
    getAccount = jest.fn(async () => ({ equity }));
    scheduler = new ManualScheduler(clock);
    enabled = true;
    const config = {
      get circuitBreakerEnabled() {
        return enabled;
      },
      riskLimits: { dailyLossLimit: '5000', maxDrawdownPct: '0.1' },
      circuitBreaker: { staleMarketDataSeconds: 300, checkIntervalSeconds: 5 },
    } as unknown as AppConfig;
    const breaker = {
      current: () => ({ readable: true, tripped: false }),
      autoTrip: jest.fn(async (d: TripDecision) => {
        trips.push(d);
        return true;
      }),
    };
    const dailyPnl = {
      compute: (compute = jest.fn(async () => ({
        total,
        realized: total,
        unrealized: '0',
        unpriced: [],
        tradeDate: '2026-01-02',
      }))),
      marketDataProvider: () => md,
    };
    const repo = {
      recordEquity: jest.fn(async (date: string, eq: string) => {
        const peak = Decimal.max(peaks.get(date) ?? eq, eq).toFixed();
        peaks.set(date, peak);
        return peak;
      }),
    };
    const positions = { listAll: jest.fn(async () => held) };
    const leader = { whenLeader: (fn: () => Promise<unknown>) => fn() };
    monitor = new CircuitBreakerMonitor(
      config,
      { getAccount } as unknown as BrokerClient,
      breaker as unknown as CircuitBreakerService,
      leader as unknown as LeaderElection,
      dailyPnl as unknown as DailyPnlService,
      positions as unknown as PositionRepository,
      repo as unknown as CircuitBreakerRepository,
      metrics as unknown as GatewayMetrics,
      clock,
      scheduler,
    );
  });

  it('trips on DAILY_LOSS at the limit, with the P&L figures', async () => {
    total = '-4999.99';
    expect(await monitor.evaluateAndTrip()).toBeNull();
    total = '-5000';
    await monitor.evaluateAndTrip();
    expect(trips).toEqual([
      expect.objectContaining({
        reasonCode: 'DAILY_LOSS',
        details: expect.objectContaining({ total_pnl: '-5000', realized: '-5000', trade_date: '2026-01-02' }),
      }),
    ]);
  });

  it("tracks the UTC day's peak equity and trips on DRAWDOWN from it; a new day starts a new peak", async () => {
    await monitor.evaluateAndTrip();
    equity = '120000';
    await monitor.evaluateAndTrip();
    equity = '108000.01'; // just under 10 % below the 120000 peak
    expect(await monitor.evaluateAndTrip()).toBeNull();
    equity = '108000';
    expect((await monitor.evaluateAndTrip())?.reasonCode).toBe('DRAWDOWN');
    expect(trips[0].details).toMatchObject({ peak_equity: '120000', equity: '108000', trade_date: '2026-01-02' });

    trips = [];
    clock.set('2026-01-03T00:00:00.000Z');
    expect(await monitor.evaluateAndTrip()).toBeNull();
    expect(peaks.get('2026-01-03')).toBe('108000');
  });

  it('trips on STALE_MARKET_DATA for a held symbol with an old price, or none, or an unreachable source', async () => {
    held = [{ symbol: 'AAPL', qty: '10' }];
    md = { latestPrice: jest.fn(), averageDailyVolume: jest.fn() };
    md.latestPrice.mockResolvedValue({
      symbol: 'AAPL',
      price: '1',
      timestamp: new Date(clock.now().getTime() - 300_000),
      source: 'sim',
    });
    expect(await monitor.evaluateAndTrip()).toBeNull();
    md.latestPrice.mockRejectedValue(new MarketDataUnavailableError('data api down'));
    expect((await monitor.evaluateAndTrip())?.reasonCode).toBe('STALE_MARKET_DATA');
  });

  it('a condition that cannot be evaluated is a metric, not a trip', async () => {
    getAccount.mockRejectedValue(new Error('broker down'));
    held = [{ symbol: 'AAPL', qty: '10' }]; // and no market data provider bound
    expect(await monitor.evaluateAndTrip()).toBeNull();
    expect(trips).toEqual([]);
    expect(metrics.circuitBreakerCheckFailed.mock.calls.map((c) => c[0]).sort()).toEqual([
      'DRAWDOWN',
      'STALE_MARKET_DATA',
    ]);
  });

  describe('schedule', () => {
    it('checks every CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS once booted, and trips when a condition holds', async () => {
      monitor.onApplicationBootstrap();
      await scheduler.advance(4_999);
      expect(compute).not.toHaveBeenCalled();
      await scheduler.advance(1);
      expect(compute).toHaveBeenCalledTimes(1);
      expect(trips).toEqual([]);
      total = '-6000';
      await scheduler.advance(5_000);
      expect(compute).toHaveBeenCalledTimes(2);
      expect(trips.map((t) => t.reasonCode)).toEqual(['DAILY_LOSS']);
      await scheduler.advance(10_000);
      expect(compute).toHaveBeenCalledTimes(4);
    });

    it('schedules nothing when the circuit breaker is disabled', async () => {
      enabled = false;
      monitor.onApplicationBootstrap();
      expect(scheduler.pending()).toEqual([]);
      await scheduler.advance(60_000);
      expect(compute).not.toHaveBeenCalled();
    });

    it('skips a check that falls due while the previous one is still running', async () => {
      getAccount.mockImplementation(async () => {
        await scheduler.sleep(12_000); // a broker slower than two intervals
        return { equity };
      });
      monitor.onApplicationBootstrap();
      await scheduler.advance(5_000); // pass 1 starts and waits for the broker until 17 s
      await scheduler.advance(10_000); // 10 s and 15 s: skipped
      expect(compute).toHaveBeenCalledTimes(1);
      expect(getAccount).toHaveBeenCalledTimes(1);
      await scheduler.advance(5_000); // 17 s: pass 1 ends; 20 s: pass 2
      expect(compute).toHaveBeenCalledTimes(2);
    });

    it('stops checking at shutdown', async () => {
      monitor.onApplicationBootstrap();
      await scheduler.advance(5_000);
      await monitor.beforeApplicationShutdown();
      expect(scheduler.pending()).toEqual([]);
      await scheduler.advance(60_000);
      expect(compute).toHaveBeenCalledTimes(1);
    });
  });
});
