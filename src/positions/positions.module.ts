import { Module } from '@nestjs/common';
import { MarketDataModule } from '../market-data/market-data.module';
import { DailyPnlService } from './daily-pnl.service';
import { PositionRepository } from './persistence/position.repository';
import { PositionMarks } from './position-marks.service';
import { PositionsController } from './positions.controller';

@Module({
  imports: [MarketDataModule],
  controllers: [PositionsController],
  providers: [PositionRepository, DailyPnlService, PositionMarks],
  exports: [PositionRepository, DailyPnlService, PositionMarks],
})
export class PositionsModule {}
