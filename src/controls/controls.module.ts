import { MarketDataModule } from '../market-data/market-data.module';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { BrokerModule } from '../broker/broker.module';
import { OrdersModule } from '../orders/orders.module';
import { RiskModule } from '../risk/risk.module';
import { CancelAllOrdersUseCase } from './cancel-all-orders.use-case';
import { CancelAllController } from './cancel-all.controller';
import { EngageKillSwitchUseCase } from './engage-kill-switch.use-case';
import { KillSwitchController } from './kill-switch.controller';
import { SimPricesController } from './sim-prices.controller';
import { SimPricesUseCase } from './sim-prices.use-case';

/**
 * Operator controls that act across modules: the kill switch's endpoints
 * (engage with its optional cancel-all), cancel-all itself, and the sim
 * exchange's prices (BROKER=sim). Above orders/ and risk/, so neither needs
 * the other.
 */
@Module({
  imports: [AuditModule, BrokerModule, MarketDataModule, OrdersModule, RiskModule],
  controllers: [KillSwitchController, CancelAllController, SimPricesController],
  providers: [CancelAllOrdersUseCase, EngageKillSwitchUseCase, SimPricesUseCase],
  exports: [CancelAllOrdersUseCase],
})
export class ControlsModule {}
