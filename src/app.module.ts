import { DynamicModule, Module } from '@nestjs/common';
import { AccountModule } from './account/account.module';
import { AuthModule } from './auth/auth.module';
import { BrokerClient } from './broker/broker-client.port';
import { BROKER_OVERRIDE, SIM_WALK_SCHEDULER_OVERRIDE } from './broker/broker.module';
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
import { MARKET_DATA_OVERRIDE } from './market-data/market-data.module';
import { MetricsModule } from './infra/metrics/metrics.module';
import { StateModule } from './infra/state/state.module';
import { ControlsModule } from './controls/controls.module';
import { ManualModule } from './manual/manual.module';
import { StrategiesModule } from './strategies/strategies.module';
import { OrderEntryModule } from './order-entry/order-entry.module';
import { TwapModule } from './twap/twap.module';
import { OverridesModule } from './infra/overrides.module';
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
  /** The timer of the sim's price walk alone (tests step prices with a ManualScheduler). */
  simWalkScheduler?: Scheduler;
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
        OverridesModule.forRoot([
          ...(overrides.broker ? [{ provide: BROKER_OVERRIDE, useValue: overrides.broker }] : []),
          ...(overrides.marketData ? [{ provide: MARKET_DATA_OVERRIDE, useValue: overrides.marketData }] : []),
          ...(overrides.simWalkScheduler
            ? [{ provide: SIM_WALK_SCHEDULER_OVERRIDE, useValue: overrides.simWalkScheduler }]
            : []),
        ]),
        LeaderModule.forRoot(overrides.leader),
        StateModule,
        // The entry points; each imports the feature modules it stands on.
        AuthModule,
        HealthModule,
        OrderEntryModule,
        TwapModule,
        ControlsModule,
        ManualModule,
        StrategiesModule,
        EventsModule,
        WebhooksModule,
        AccountModule,
      ],
      controllers: [SystemController],
      providers: [RequestObserverMiddleware],
    };
  }
}
