import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { BrokerModule } from '../broker/broker.module';
import { OrdersModule } from '../orders/orders.module';
import { PositionsModule } from '../positions/positions.module';
import { FindingsRepository } from './persistence/findings.repository';
import { LocalBooksRepository } from './persistence/local-books.repository';
import { ReconciliationStateRepository } from './persistence/reconciliation-state.repository';
import { ReconciliationGateService } from './reconciliation-gate.service';
import { ReconciliationController } from './reconciliation.controller';
import { RECONCILIATION_METRIC_PROVIDERS, ReconciliationMetrics } from './reconciliation.metrics';
import { ReconciliationService } from './reconciliation.service';
import { ReconcileUseCase } from './use-cases/reconcile.use-case';

/**
 * Reconciliation (docs/reconciliation.md): the startup gate, periodic runs on
 * the leader, fills backfill, orphans, position mismatches.
 */
@Module({
  imports: [AuditModule, BrokerModule, OrdersModule, PositionsModule],
  controllers: [ReconciliationController],
  providers: [
    ...RECONCILIATION_METRIC_PROVIDERS,
    ReconciliationMetrics,
    ReconciliationStateRepository,
    FindingsRepository,
    LocalBooksRepository,
    ReconciliationGateService,
    ReconcileUseCase,
    ReconciliationService,
  ],
  exports: [ReconciliationGateService],
})
export class ReconciliationModule {}
