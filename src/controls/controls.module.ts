import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { OrdersModule } from '../orders/orders.module';
import { RiskModule } from '../risk/risk.module';
import { CancelAllOrdersUseCase } from './cancel-all-orders.use-case';
import { CancelAllController } from './cancel-all.controller';
import { EngageKillSwitchUseCase } from './engage-kill-switch.use-case';
import { KillSwitchController } from './kill-switch.controller';

/**
 * Operator controls that act across modules: the kill switch's endpoints
 * (engage with its optional cancel-all) and cancel-all itself. Above orders/
 * and risk/, so neither needs the other.
 */
@Module({
  imports: [AuditModule, OrdersModule, RiskModule],
  controllers: [KillSwitchController, CancelAllController],
  providers: [CancelAllOrdersUseCase, EngageKillSwitchUseCase],
  exports: [CancelAllOrdersUseCase],
})
export class ControlsModule {}
