import { TwapModule } from '../twap/twap.module';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ControlsModule } from '../controls/controls.module';
import { EventsModule } from '../events/events.module';
import { PositionsModule } from '../positions/positions.module';
import { RiskModule } from '../risk/risk.module';
import { HeartbeatMonitor } from './heartbeat-monitor.service';
import { PerformanceQuery } from './performance.query';
import { StrategyActivityRepository } from './persistence/strategy-activity.repository';
import { StrategyStateRepository } from './persistence/strategy-state.repository';
import { PnlController } from './pnl.controller';
import { StrategiesController } from './strategies.controller';
import { StrategiesQuery } from './strategies.query';
import { StrategyLedger } from './strategy-ledger.service';
import { STRATEGY_PNL_METRIC_PROVIDERS, StrategyPnlMetrics } from './strategy-pnl.metrics';
import { StrategyStateService } from './strategy-state.service';

/**
 * Strategies (docs/strategies-and-pnl.md): their trading states (bound into
 * risk's StrategyStateGate for the pre-trade pipeline), the dead-man's
 * switch, per-strategy books and P&L views. Above controls/ (cancel-all).
 */
@Module({
  imports: [AuditModule, ControlsModule, EventsModule, PositionsModule, RiskModule, TwapModule],
  controllers: [StrategiesController, PnlController],
  providers: [
    StrategyStateRepository,
    StrategyActivityRepository,
    StrategyStateService,
    HeartbeatMonitor,
    StrategyLedger,
    StrategiesQuery,
    PerformanceQuery,
    StrategyPnlMetrics,
    ...STRATEGY_PNL_METRIC_PROVIDERS,
  ],
  exports: [StrategyStateService],
})
export class StrategiesModule {}
