import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { BrokerModule } from '../broker/broker.module';
import { EventsModule } from '../events/events.module';
import { PositionsModule } from '../positions/positions.module';
import { RiskModule } from '../risk/risk.module';
import { ExposureCountersService } from './jobs/exposure-counters.service';
import { GuardedInsertQueue } from './jobs/guarded-insert-queue';
import { OrderSyncService } from './jobs/order-sync.service';
import { OrderUpdateQueue } from './jobs/order-update-queue';
import { PacedDispatchService } from './jobs/paced-dispatch.service';
import { OrdersController } from './orders.controller';
import { ExposureRepository } from './persistence/exposure.repository';
import { FillRepository } from './persistence/fill.repository';
import { OrderHistoryRepository } from './persistence/order-history.repository';
import { OrderSendRepository } from './persistence/order-send.repository';
import { OrderRepository } from './persistence/order.repository';
import { ApplyOrderUpdateUseCase } from './use-cases/apply-order-update.use-case';
import { CancelOrderUseCase } from './use-cases/cancel-order.use-case';
import { DispatchOrderUseCase } from './use-cases/dispatch-order.use-case';
import { QueryOrdersUseCase } from './use-cases/query-orders.use-case';

/**
 * The order lifecycle: the orders and fills tables, dispatch to the broker,
 * every update through ApplyOrderUpdateUseCase, cancels, the polling and
 * resolver jobs, queries. New orders come in through order-entry/.
 */
@Module({
  imports: [AuditModule, BrokerModule, PositionsModule, EventsModule, RiskModule],
  controllers: [OrdersController],
  providers: [
    OrderRepository,
    OrderSendRepository,
    OrderHistoryRepository,
    FillRepository,
    ExposureRepository,
    QueryOrdersUseCase,
    ApplyOrderUpdateUseCase,
    DispatchOrderUseCase,
    CancelOrderUseCase,
    OrderSyncService,
    OrderUpdateQueue,
    GuardedInsertQueue,
    PacedDispatchService,
    ExposureCountersService,
  ],
  exports: [
    GuardedInsertQueue,
    OrderRepository,
    FillRepository,
    ExposureRepository,
    ApplyOrderUpdateUseCase,
    DispatchOrderUseCase,
    CancelOrderUseCase,
    PacedDispatchService,
    ExposureCountersService,
    QueryOrdersUseCase,
  ],
})
export class OrdersModule {}
