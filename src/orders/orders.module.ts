import { Module } from '@nestjs/common';
import { OrdersController } from './orders.controller';
import { OrderRepository } from './persistence/order.repository';
import { QueryOrdersUseCase } from './use-cases/query-orders.use-case';
import { SubmitOrderUseCase } from './use-cases/submit-order.use-case';

@Module({
  controllers: [OrdersController],
  providers: [OrderRepository, SubmitOrderUseCase, QueryOrdersUseCase],
})
export class OrdersModule {}
