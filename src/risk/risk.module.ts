import { Module } from '@nestjs/common';
import { PositionsModule } from '../positions/positions.module';
import { CircuitBreakerMonitor } from './circuit-breaker/circuit-breaker-monitor.service';
import { CircuitBreakerController } from './circuit-breaker/circuit-breaker.controller';
import { CircuitBreakerRepository } from './circuit-breaker/circuit-breaker.repository';
import { CircuitBreakerService } from './circuit-breaker/circuit-breaker.service';
import { FatFingerThresholdsController } from './fat-finger/fat-finger-thresholds.controller';
import { FatFingerThresholdsRepository } from './fat-finger/fat-finger-thresholds.repository';
import { FatFingerThresholdsService } from './fat-finger/fat-finger-thresholds.service';
import { KillSwitchController } from './kill-switch/kill-switch.controller';
import { KillSwitchRepository } from './kill-switch/kill-switch.repository';
import { KillSwitchService } from './kill-switch/kill-switch.service';
import { PIPELINE_PROVIDERS } from './pipeline/pipeline.providers';
import { PreTradePipeline } from './pipeline/pre-trade-pipeline.service';
import { PreTradeSwitch } from './pipeline/pre-trade-switch';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { RateLimiter } from './rate-limit/rate-limiter.service';

/** Pre-trade safety: the kill switch and per-key rate limits (SPEC §7). */
@Module({
  imports: [PositionsModule],
  controllers: [KillSwitchController, FatFingerThresholdsController, CircuitBreakerController],
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
    PreTradePipeline,
    KillSwitchService,
    CircuitBreakerService,
    FatFingerThresholdsService,
    RateLimiter,
    RateLimitGuard,
    PreTradeSwitch,
  ],
})
export class RiskModule {}
