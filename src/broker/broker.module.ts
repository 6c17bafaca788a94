import { Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { AlpacaBrokerClient } from './alpaca/alpaca-broker-client';
import { AlpacaLogger } from './alpaca/alpaca-logger';
import { BrokerCallObserver, observeBrokerClient } from './broker-call-observer';
import { BROKER_CLIENT, BrokerClient } from './broker-client.port';
import { SimBrokerClient } from './sim/sim-broker.client';

@Injectable()
class BrokerLifecycle implements OnApplicationShutdown {
  constructor(@Inject(BROKER_CLIENT) private readonly broker: BrokerClient) {}
  async onApplicationShutdown(): Promise<void> {
    await this.broker.disconnect();
  }
}

function nestLogger(context: string): AlpacaLogger {
  const logger = new Logger(context);
  return {
    info: (message, ctx) => logger.log(ctx ? { ...ctx, msg: message } : message),
    warn: (message, ctx) => logger.warn(ctx ? { ...ctx, msg: message } : message),
    error: (message, ctx) => logger.error(ctx ? { ...ctx, msg: message } : message),
  };
}

/** A broker handed in by the composition root (tests: a sim with faults, or Alpaca aimed at a fake). */
export const BROKER_OVERRIDE = Symbol('BROKER_OVERRIDE');

/**
 * Binds the BrokerClient port to an adapter: Alpaca (the official SDK) or the
 * in-process sim exchange, per BROKER. Nothing else in the gateway knows which.
 */
@Module({
  providers: [
    BrokerCallObserver,
    {
      provide: BROKER_CLIENT,
      inject: [APP_CONFIG, Clock, BrokerCallObserver, { token: BROKER_OVERRIDE, optional: true }],
      // Every call's outcome is reported (broker-error bursts trip the circuit breaker).
      useFactory: (config: AppConfig, clock: Clock, observer: BrokerCallObserver, broker?: BrokerClient) =>
        observeBrokerClient(BrokerModule.createClient(config, clock, broker), observer),
    },
    BrokerLifecycle,
  ],
  exports: [BROKER_CLIENT, BrokerCallObserver],
})
export class BrokerModule {
  private static createClient(config: AppConfig, clock: Clock, broker?: BrokerClient): BrokerClient {
    if (broker) return broker;
    const logger = new Logger('Broker');
    if (config.broker.kind === 'alpaca') {
      const a = config.broker.alpaca;
      logger.log(`broker: alpaca at ${a.baseUrl} (${a.paper ? 'paper' : 'LIVE'})`);
      return new AlpacaBrokerClient({
        keyId: a.keyId!,
        secretKey: a.secretKey!,
        baseUrl: a.baseUrl,
        streamUrl: a.streamUrl,
        submitTimeoutMs: config.broker.submitTimeoutMs,
        logger: nestLogger('AlpacaBroker'),
      });
    }
    logger.log('broker: sim (in-process paper exchange)');
    return new SimBrokerClient({ clock });
  }
}
