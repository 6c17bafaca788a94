import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ControlsModule } from '../controls/controls.module';
import { OrderEntryModule } from '../order-entry/order-entry.module';
import { OrdersModule } from '../orders/orders.module';
import { PositionsModule } from '../positions/positions.module';
import { RiskModule } from '../risk/risk.module';
import { FlattenPositionsUseCase } from './flatten-positions.use-case';
import { ManualOrderUseCase } from './manual-order.use-case';
import { ManualOrdersController } from './manual-orders.controller';
import { PositionControlsController } from './position-controls.controller';
import { PositionControlsUseCase } from './position-controls.use-case';
import { ReduceOnlyLock } from './reduce-only-lock';

/**
 * Manual controls (docs/operator-controls.md): an operator's orders and the
 * position close, adjust and flatten-all, all through the one order-entry
 * door. Above controls/ (flatten cancels through its cancel-all).
 */
@Module({
  imports: [AuditModule, ControlsModule, OrderEntryModule, OrdersModule, PositionsModule, RiskModule],
  controllers: [ManualOrdersController, PositionControlsController],
  providers: [ManualOrderUseCase, PositionControlsUseCase, FlattenPositionsUseCase, ReduceOnlyLock],
})
export class ManualModule {}
