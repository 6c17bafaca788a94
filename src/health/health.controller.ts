import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { Public } from '../common/public-route';
import { BROKER_CLIENT, BrokerClient } from '../broker/broker-client.port';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LeaderElection } from '../infra/leader/leader-election.service';
import { StateStore } from '../infra/state/state-store';
import { ReconciliationGateService } from '../reconciliation/reconciliation-gate.service';

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Probes (docs/operations.md#health-and-readiness): live = the process answers; ready = it can serve
 * (database and state store reachable); /health adds details for operators.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly ds: DataSource,
    private readonly store: StateStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly leader: LeaderElection,
    private readonly reconciliationGate: ReconciliationGateService,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Health with details: database, state store, mode flags' })
  check() {
    return this.health.check([
      () => this.database(),
      () => this.stateStore(),
      () =>
        this.indicator.check('gateway').up({
          environment: this.config.environment,
          dry_run: this.config.dryRun,
          broker: this.config.dryRun ? 'none (DRY_RUN)' : this.config.broker.kind,
        }),
      () => this.brokerStream(),
      () => this.reconciliation(),
    ]);
  }

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process is up and its event loop answers' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: database and state store reachable' })
  ready() {
    return this.health.check([() => this.database(), () => this.stateStore()]);
  }

  /**
   * The broker's update stream runs on the leader only. A leader without its
   * stream is degraded (polling still follows orders), never down: a broker
   * outage must not take the replica out of service.
   */
  private brokerStream() {
    const session = this.indicator.check('broker_stream');
    if (this.config.dryRun) return session.up({ state: 'not used (DRY_RUN)' });
    const leader = this.leader.isLeader();
    const state = this.broker.streamState();
    const data = { broker: this.broker.name, leader, instance_id: this.leader.instanceId, state };
    return !leader || state === 'connected' ? session.up(data) : session.degraded(data);
  }

  /**
   * The startup reconciliation gate of this replica (docs/operations.md#health-and-readiness): closed means
   * only reduce-only orders pass. Reported, never down: health and readiness
   * must not depend on the broker, since cancels and reduce-only orders still
   * flow; the state and the reason are in the details.
   */
  private reconciliation() {
    const session = this.indicator.check('reconciliation_gate');
    const g = this.reconciliationGate.current();
    const data = {
      gate: g.open ? 'open' : 'closed',
      readable: g.readable,
      reason: g.reason,
      blocked_symbols: [...g.blockedSymbols.keys()],
    };
    return session.up(data);
  }

  private database() {
    return this.indicator
      .check('database')
      .attempt(async () => {
        await this.ds.query('SELECT 1');
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }

  private stateStore() {
    const store = this.store;
    return this.indicator
      .check('state_store')
      .attempt(async () => {
        await store.ping();
        return store.mode === 'redis'
          ? { mode: 'redis' }
          : { mode: 'in-process', note: 'single replica only: set REDIS_URL to run several replicas' };
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }
}
