import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { PositionsModule } from '../positions/positions.module';
import { RiskModule } from '../risk/risk.module';
import { OrderSyncService } from './jobs/order-sync.service';
import { FillRepository } from './persistence/fill.repository';
import { ApplyOrderUpdateUseCase } from './use-cases/apply-order-update.use-case';
import { CancelAllOrdersUseCase } from './use-cases/cancel-all-orders.use-case';
import { CancelOrderUseCase } from './use-cases/cancel-order.use-case';
import { DispatchOrderUseCase } from './use-cases/dispatch-order.use-case';
import { OrdersController } from './orders.controller';
import { OrderRepository } from './persistence/order.repository';
import { QueryOrdersUseCase } from './use-cases/query-orders.use-case';
import { SubmitOrderUseCase } from './use-cases/submit-order.use-case';

@Module({
  imports: [PositionsModule, EventsModule, RiskModule],
  controllers: [OrdersController],
  providers: [
    OrderRepository,
    FillRepository,
    SubmitOrderUseCase,
    QueryOrdersUseCase,
    ApplyOrderUpdateUseCase,
    DispatchOrderUseCase,
    CancelOrderUseCase,
    CancelAllOrdersUseCase,
    OrderSyncService,
  ],
  exports: [ApplyOrderUpdateUseCase, FillRepository],
})
export class OrdersModule {}
