import { Module } from '@nestjs/common';
import { DailyPnlService } from './daily-pnl.service';
import { PositionRepository } from './persistence/position.repository';
import { PositionsController } from './positions.controller';

@Module({
  controllers: [PositionsController],
  providers: [PositionRepository, DailyPnlService],
  exports: [PositionRepository, DailyPnlService],
})
export class PositionsModule {}
