import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { Scheduler } from '../infra/clock/scheduler';
import { GatewayMetrics } from '../infra/metrics/gateway-metrics';
import { StateStore } from '../infra/state/state-store';
import { AlpacaBrokerClient } from './alpaca/alpaca-broker-client';
import { AlpacaLogger } from './alpaca/alpaca-logger';
import { BrokerCallObserver, observeBrokerClient } from './broker-call-observer';
import { BROKER_CLIENT, BrokerClient } from './broker-client.port';
import { BrokerPacer } from './pacing/broker-pacer';
import { paceBrokerClient } from './pacing/paced-broker-client';
import { PgSimBookStore } from './sim/sim-book.pg-store';
import { SimBrokerClient } from './sim/sim-broker.client';

/**
 * The sim exchange itself (not the observed port) when the broker is the sim,
 * else null: for its operator controls (prices) and its lifecycle. Gateway
 * code trades through BROKER_CLIENT only.
 */
export const SIM_BROKER = Symbol('SIM_BROKER');

@Injectable()
class BrokerLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    @Inject(SIM_BROKER) private readonly sim: SimBrokerClient | null,
    private readonly pacer: BrokerPacer,
  ) {}
  onApplicationBootstrap(): void {
    this.sim?.startPriceWalk();
  }
  /** Before the database closes: the walk stops and the sim's book is saved. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.sim?.close();
  }
  async onApplicationShutdown(): Promise<void> {
    this.pacer.close();
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

/** The timer of the sim's price walk, when the composition root hands one in (tests: a ManualScheduler). */
export const SIM_WALK_SCHEDULER_OVERRIDE = Symbol('SIM_WALK_SCHEDULER_OVERRIDE');

/**
 * Binds the BrokerClient port to an adapter: Alpaca (the official SDK) or the
 * in-process sim exchange, per BROKER. Nothing else in the gateway knows which.
 */
@Module({
  providers: [
    BrokerCallObserver,
    {
      provide: SIM_BROKER,
      inject: [
        APP_CONFIG,
        Clock,
        Scheduler,
        DataSource,
        { token: BROKER_OVERRIDE, optional: true },
        { token: SIM_WALK_SCHEDULER_OVERRIDE, optional: true },
      ],
      useFactory: (
        config: AppConfig,
        clock: Clock,
        scheduler: Scheduler,
        ds: DataSource,
        broker?: BrokerClient,
        walkScheduler?: Scheduler,
      ): Promise<SimBrokerClient | null> =>
        BrokerModule.createSim(config, clock, walkScheduler ?? scheduler, ds, broker),
    },
    {
      provide: BrokerPacer,
      inject: [APP_CONFIG, StateStore, Clock, Scheduler, GatewayMetrics],
      useFactory: (config: AppConfig, store: StateStore, clock: Clock, scheduler: Scheduler, metrics: GatewayMetrics) =>
        new BrokerPacer({
          budget: config.broker.rateLimitPerMinute,
          windowMs: config.broker.rateLimitWindowMs,
          store,
          clock,
          scheduler,
          metrics,
        }),
    },
    {
      provide: BROKER_CLIENT,
      inject: [APP_CONFIG, BrokerCallObserver, SIM_BROKER, BrokerPacer, { token: BROKER_OVERRIDE, optional: true }],
      // Every trading call waits for the shared budget (docs/broker-pacing.md), and every call's
      // outcome is reported (broker-error bursts trip the circuit breaker).
      useFactory: (
        config: AppConfig,
        observer: BrokerCallObserver,
        sim: SimBrokerClient | null,
        pacer: BrokerPacer,
        broker?: BrokerClient,
      ) => paceBrokerClient(observeBrokerClient(BrokerModule.createClient(config, sim, broker), observer), pacer),
    },
    BrokerLifecycle,
  ],
  exports: [BROKER_CLIENT, BrokerCallObserver, SIM_BROKER, BrokerPacer],
})
export class BrokerModule {
  /** The sim, its book restored from PostgreSQL (docs/simulator.md#durability), when BROKER=sim. */
  private static async createSim(
    config: AppConfig,
    clock: Clock,
    walkScheduler: Scheduler,
    ds: DataSource,
    broker?: BrokerClient,
  ): Promise<SimBrokerClient | null> {
    if (broker) return broker instanceof SimBrokerClient ? broker : null;
    if (config.broker.kind !== 'sim') return null;
    const logger = new Logger('SimBroker');
    const s = config.broker.sim;
    const sim = new SimBrokerClient({
      clock,
      referencePrices: s.initialPrices,
      priceWalk: { seed: s.priceSeed, volatilityBps: s.priceVolatilityBps, stepMs: s.priceStepMs },
      walkScheduler,
      rateLimitPerMinute: s.rateLimitPerMinute > 0 ? s.rateLimitPerMinute : undefined,
    });
    await sim.restore(new PgSimBookStore(ds), (err) =>
      logger.error({ err, msg: 'sim book: saving failed; retried with the next change' }),
    );
    return sim;
  }

  private static createClient(config: AppConfig, sim: SimBrokerClient | null, broker?: BrokerClient): BrokerClient {
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
    const w = sim!.priceWalk;
    logger.log(
      `broker: sim (in-process paper exchange, book in PostgreSQL; price walk ${w.enabled ? `σ ${w.volatilityBps} bps every ${w.stepMs} ms, seed ${w.seed}` : 'off'})`,
    );
    return sim!;
  }
}
