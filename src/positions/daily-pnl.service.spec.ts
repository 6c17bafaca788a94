import { Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { ManualClock } from '../infra/clock/clock';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { MarketDataProvider, MarketDataUnavailableError } from '../market-data/market-data.port';
import { DailyPnlService } from './daily-pnl.service';
import { PositionRecord, PositionRepository } from './persistence/position.repository';

describe('DailyPnlService', () => {
  const clock = new ManualClock(new Date('2026-01-02T15:30:00.000Z'));
  const position = (symbol: string, qty: string, avg: string, currentPrice: string | null): PositionRecord => ({
    symbol,
    qty,
    avgEntryPrice: avg,
    realizedPl: '0',
    currentPrice,
    updatedAt: clock.now(),
    lastTradeAt: null,
  });
  const make = (md: MarketDataProvider | null, positions: PositionRecord[], realized = '-10') => {
    const scheduler = new ManualScheduler(clock);
    const repo = {
      realizedSince: jest.fn(async () => realized),
      listAll: jest.fn(async () => positions),
    };
    const moduleRef = {
      get: () => {
        if (!md) throw new Error('not bound');
        return md;
      },
    };
    const service = new DailyPnlService(
      { circuitBreaker: { checkIntervalSeconds: 5 } } as AppConfig,
      repo as unknown as PositionRepository,
      clock,
      moduleRef as unknown as ModuleRef,
      scheduler,
    );
    return { service, repo, scheduler };
  };

  beforeAll(() => Logger.overrideLogger(false));

  it("sums today's realized P&L since UTC midnight and prices positions from market data, then the stored price", async () => {
    const md: MarketDataProvider = {
      latestPrice: jest.fn(async (symbol: string) => {
        if (symbol === 'AAA') return { symbol, price: '12', timestamp: clock.now(), source: 'sim' as const };
        if (symbol === 'BBB') throw new MarketDataUnavailableError('down');
        return null;
      }),
      averageDailyVolume: jest.fn(),
    };
    const { service, repo } = make(md, [
      position('AAA', '10', '10', '11'), // market data: 10 × (12 − 10) = 20
      position('BBB', '-5', '20', '21'), // source down → stored price: −5 × (21 − 20) = −5
      position('CCC', '2', '30', null), // no price anywhere
      position('FLAT', '0', '0', null),
    ]);
    expect(service.latest()).toBeNull();
    const pnl = await service.compute();
    expect(repo.realizedSince).toHaveBeenCalledWith(new Date('2026-01-02T00:00:00.000Z'));
    expect(pnl).toMatchObject({
      realized: '-10',
      unrealized: '15',
      total: '5',
      unpriced: ['CCC'],
      tradeDate: '2026-01-02',
    });
    expect(pnl.positions.map((p) => [p.symbol, p.price_source])).toEqual([
      ['AAA', 'market_data'],
      ['BBB', 'position'],
      ['CCC', null],
    ]);
    expect(service.latest()).toBe(pnl);
    expect(service.latest()?.computedAt).toEqual(clock.now());
  });

  it('works without any market data provider bound (stored prices only)', async () => {
    const { service } = make(null, [position('AAA', '1', '10', '9')], '0');
    expect(await service.compute()).toMatchObject({ unrealized: '-1', total: '-1', unpriced: [] });
    expect(service.marketDataProvider()).toBeNull();
  });

  describe('refresh', () => {
    it('computes at boot and then every CIRCUIT_BREAKER_CHECK_INTERVAL_SECONDS on the clock', async () => {
      const { service, repo, scheduler } = make(null, [position('AAA', '1', '10', '9')], '0');
      service.onApplicationBootstrap();
      await scheduler.runDue();
      expect(repo.realizedSince).toHaveBeenCalledTimes(1);
      const first = service.latest()!.computedAt.getTime();
      await scheduler.advance(4_999);
      expect(repo.realizedSince).toHaveBeenCalledTimes(1);
      await scheduler.advance(1);
      expect(repo.realizedSince).toHaveBeenCalledTimes(2);
      expect(service.latest()!.computedAt.getTime() - first).toBe(5_000);
      await service.onApplicationShutdown();
      await scheduler.advance(60_000);
      expect(repo.realizedSince).toHaveBeenCalledTimes(2);
    });

    it('keeps the last figure when a refresh fails, and refreshes again next interval', async () => {
      const { service, repo, scheduler } = make(null, [position('AAA', '1', '10', '9')], '0');
      service.onApplicationBootstrap();
      await scheduler.runDue();
      const kept = service.latest();
      repo.realizedSince.mockRejectedValueOnce(new Error('database away'));
      await scheduler.advance(5_000);
      expect(service.latest()).toBe(kept);
      await scheduler.advance(5_000);
      expect(repo.realizedSince).toHaveBeenCalledTimes(3);
      expect(service.latest()!.computedAt.getTime() - kept!.computedAt.getTime()).toBe(10_000);
      expect(scheduler.errors).toEqual([]);
      await service.onApplicationShutdown();
    });
  });
});
