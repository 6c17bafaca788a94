import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { EventsModule } from '../events/events.module';
import { MarketDataModule } from '../market-data/market-data.module';
import { OrdersModule } from '../orders/orders.module';
import { ReconciliationGateService } from '../reconciliation/reconciliation-gate.service';
import { ReconciliationModule } from '../reconciliation/reconciliation.module';
import { PreTradeChecks } from '../risk/pipeline/pre-trade-checks.service';
import { ReconciliationGateSource } from '../risk/pipeline/pre-trade-sources';
import { RiskModule } from '../risk/risk.module';
import { BlockedSliceRecorder } from './blocked-slice.recorder';
import { OrderEntryController } from './order-entry.controller';
import { ReplaceOrderUseCase } from './replace-order.use-case';
import { SubmitOrderUseCase } from './submit-order.use-case';

/**
 * The one order-entry door: every new order, whatever sends it, goes through
 * SubmitOrderUseCase. Here the pre-trade checks meet the states they read,
 * the reconciliation gate included (bound to risk's port).
 */
@Module({
  imports: [AuditModule, EventsModule, MarketDataModule, OrdersModule, ReconciliationModule, RiskModule],
  controllers: [OrderEntryController],
  providers: [
    { provide: ReconciliationGateSource, useExisting: ReconciliationGateService },
    PreTradeChecks,
    BlockedSliceRecorder,
    SubmitOrderUseCase,
    ReplaceOrderUseCase,
  ],
  exports: [SubmitOrderUseCase, PreTradeChecks, ReconciliationGateSource],
})
export class OrderEntryModule {}
