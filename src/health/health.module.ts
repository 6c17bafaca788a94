import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AuthModule } from '../auth/auth.module';
import { BrokerModule } from '../broker/broker.module';
import { ReconciliationModule } from '../reconciliation/reconciliation.module';
import { ComponentHealthMetrics } from './component-health.metrics';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' }), AuthModule, BrokerModule, ReconciliationModule],
  controllers: [HealthController],
  providers: [ComponentHealthMetrics],
})
export class HealthModule {}
