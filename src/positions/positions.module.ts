import { Module } from '@nestjs/common';
import { MarketDataModule } from '../market-data/market-data.module';
import { DailyPnlService } from './daily-pnl.service';
import { PositionRepository } from './persistence/position.repository';
import { PositionsController } from './positions.controller';

@Module({
  imports: [MarketDataModule],
  controllers: [PositionsController],
  providers: [PositionRepository, DailyPnlService],
  exports: [PositionRepository, DailyPnlService],
})
export class PositionsModule {}
