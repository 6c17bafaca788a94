import { Global, Module } from '@nestjs/common';
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
 * Reconciliation (SPEC §8): startup gate, periodic runs on the leader,
 * fills backfill, orphans, position mismatches. Global, so the pre-trade
 * pipeline (src/risk) injects ReconciliationGateService without importing
 * this module (which imports OrdersModule).
 */
@Global()
@Module({
  imports: [OrdersModule, PositionsModule],
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
