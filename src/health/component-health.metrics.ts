import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BROKER_CLIENT, BrokerClient } from '../broker/broker-client.port';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LeaderElection } from '../infra/leader/leader-election.service';
import { componentProbeSource } from '../infra/metrics/scrape-gauges';
import { StateStore } from '../infra/state/state-store';

const CHECK_TIMEOUT_MS = 2_000;

/** Whether `check` settles without error within the timeout. */
async function passes(check: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([check().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `execution_gateway_component_up` (docs/operations.md#metrics): the same
 * judgement as /health, made at scrape time. The broker stream counts as down
 * only on the leader without a connected stream (where /health says degraded).
 */
@Injectable()
export class ComponentHealthMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private unbind?: () => void;

  constructor(
    private readonly ds: DataSource,
    private readonly store: StateStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly leader: LeaderElection,
  ) {}

  onApplicationBootstrap(): void {
    this.unbind = componentProbeSource.bind(() => this.probe());
  }

  onApplicationShutdown(): void {
    this.unbind?.();
  }

  async probe(): Promise<Record<string, boolean>> {
    const [database, stateStore] = await Promise.all([
      passes(() => this.ds.query('SELECT 1')),
      passes(() => this.store.ping()),
    ]);
    const brokerStream = this.config.dryRun || !this.leader.isLeader() || this.broker.streamState() === 'connected';
    return { database, state_store: stateStore, broker_stream: brokerStream };
  }
}
