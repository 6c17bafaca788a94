import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { MarketDataModule } from '../market-data/market-data.module';
import { OrderEntryModule } from '../order-entry/order-entry.module';
import { OrdersModule } from '../orders/orders.module';
import { RiskModule } from '../risk/risk.module';
import { TwapRepository } from './persistence/twap.repository';
import { TwapDispatcher } from './twap-dispatcher.service';
import { TwapController } from './twap.controller';
import { TWAP_METRIC_PROVIDERS, TwapMetrics } from './twap.metrics';
import { CreatePlanUseCase } from './use-cases/create-plan.use-case';
import { PlanQueriesUseCase } from './use-cases/plan-queries.use-case';

/**
 * TWAP execution (docs/twap.md): plans, their slices, and the dispatcher
 * that sends each due slice once through the order-entry door.
 */
@Module({
  imports: [AuditModule, MarketDataModule, OrdersModule, OrderEntryModule, RiskModule],
  controllers: [TwapController],
  providers: [
    ...TWAP_METRIC_PROVIDERS,
    TwapMetrics,
    TwapRepository,
    CreatePlanUseCase,
    PlanQueriesUseCase,
    TwapDispatcher,
  ],
  exports: [PlanQueriesUseCase],
})
export class TwapModule {}
