import { Module } from '@nestjs/common';
import { KillSwitchController } from './kill-switch/kill-switch.controller';
import { KillSwitchRepository } from './kill-switch/kill-switch.repository';
import { KillSwitchService } from './kill-switch/kill-switch.service';

/** Pre-trade safety: for now the kill switch (SPEC §7). */
@Module({
  controllers: [KillSwitchController],
  providers: [KillSwitchRepository, KillSwitchService],
  exports: [KillSwitchService],
})
export class RiskModule {}
