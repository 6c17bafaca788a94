import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { BrokerModule } from '../broker/broker.module';
import { MarketDataModule } from '../market-data/market-data.module';
import { PositionsModule } from '../positions/positions.module';
import { CircuitBreakerMonitor } from './circuit-breaker/circuit-breaker-monitor.service';
import { CircuitBreakerController } from './circuit-breaker/circuit-breaker.controller';
import { CircuitBreakerRepository } from './circuit-breaker/circuit-breaker.repository';
import { CircuitBreakerService } from './circuit-breaker/circuit-breaker.service';
import { FatFingerThresholdsController } from './fat-finger/fat-finger-thresholds.controller';
import { FatFingerThresholdsRepository } from './fat-finger/fat-finger-thresholds.repository';
import { FatFingerThresholdsService } from './fat-finger/fat-finger-thresholds.service';
import { KillSwitchRepository } from './kill-switch/kill-switch.repository';
import { KillSwitchService } from './kill-switch/kill-switch.service';
import { PIPELINE_PROVIDERS } from './pipeline/pipeline.providers';
import { AccountEquityService } from './pipeline/account-equity.service';
import { CircuitBreakerSource, DailyPnlSource, FatFingerSource, StrategyStateGate } from './pipeline/pre-trade-sources';
import { PreTradeSwitch } from './pipeline/pre-trade-switch';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { RateLimiter } from './rate-limit/rate-limiter.service';

/**
 * Pre-trade safety: the kill switch, the circuit breaker, fat-finger
 * thresholds, risk limits and per-key rate limits — the states, their
 * controls, and the pure checks the order-entry door runs.
 */
@Module({
  imports: [AuditModule, BrokerModule, MarketDataModule, PositionsModule],
  controllers: [FatFingerThresholdsController, CircuitBreakerController],
  providers: [
    KillSwitchRepository,
    KillSwitchService,
    CircuitBreakerRepository,
    CircuitBreakerService,
    CircuitBreakerMonitor,
    FatFingerThresholdsRepository,
    FatFingerThresholdsService,
    RateLimiter,
    RateLimitGuard,
    ...PIPELINE_PROVIDERS,
  ],
  exports: [
    KillSwitchService,
    CircuitBreakerSource,
    FatFingerSource,
    DailyPnlSource,
    AccountEquityService,
    CircuitBreakerService,
    FatFingerThresholdsService,
    RateLimiter,
    RateLimitGuard,
    PreTradeSwitch,
    StrategyStateGate,
  ],
})
export class RiskModule {}
