import { Module } from '@nestjs/common';
import { KillSwitchController } from './kill-switch/kill-switch.controller';
import { KillSwitchRepository } from './kill-switch/kill-switch.repository';
import { KillSwitchService } from './kill-switch/kill-switch.service';
import { RateLimitGuard } from './rate-limit/rate-limit.guard';
import { RateLimiter } from './rate-limit/rate-limiter.service';

/** Pre-trade safety: the kill switch and per-key rate limits (SPEC §7). */
@Module({
  controllers: [KillSwitchController],
  providers: [KillSwitchRepository, KillSwitchService, RateLimiter, RateLimitGuard],
  exports: [KillSwitchService, RateLimiter, RateLimitGuard],
})
export class RiskModule {}
