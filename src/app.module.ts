import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { BrokerClient } from './broker/broker-client.port';
import { BrokerModule } from './broker/broker.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { EventsModule } from './events/events.module';
import { HealthModule } from './health/health.module';
import { Clock } from './infra/clock/clock';
import { ClockModule } from './infra/clock/clock.module';
import { Scheduler } from './infra/clock/scheduler';
import { DatabaseModule } from './infra/database/database.module';
import { RequestObserverMiddleware } from './infra/http/request-observer.middleware';
import { LeaderElectionOptions } from './infra/leader/leader-election.options';
import { LeaderModule } from './infra/leader/leader.module';
import { LoggingModule } from './infra/logging/logging.module';
import { MarketDataProvider } from './market-data/market-data.port';
import { MarketDataModule } from './market-data/market-data.module';
import { MetricsModule } from './infra/metrics/metrics.module';
import { StateModule } from './infra/state/state.module';
import { OrdersModule } from './orders/orders.module';
import { PositionsModule } from './positions/positions.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { RiskModule } from './risk/risk.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { SystemController } from './system/system.controller';

export interface AppOverrides {
  clock?: Clock;
  /** Timers (tests drive them with a ManualScheduler). */
  scheduler?: Scheduler;
  /** Replaces the configured broker adapter. */
  broker?: BrokerClient;
  /** Replaces the configured market data adapter (the cache still wraps it). */
  marketData?: MarketDataProvider;
  /** Leader election tuning (tests elect faster). */
  leader?: LeaderElectionOptions;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, overrides: AppOverrides = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(overrides.clock, overrides.scheduler),
        LoggingModule,
        MetricsModule,
        DatabaseModule,
        BrokerModule.forRoot(overrides.broker),
        MarketDataModule.forRoot(overrides.marketData),
        LeaderModule.forRoot(overrides.leader),
        StateModule,
        AuditModule,
        AuthModule,
        HealthModule,
        OrdersModule,
        EventsModule,
        PositionsModule,
        RiskModule,
        ReconciliationModule,
        WebhooksModule,
      ],
      controllers: [SystemController],
      providers: [RequestObserverMiddleware],
    };
  }
}
