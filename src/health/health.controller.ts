import { Controller, Get, Inject, Req, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { RequestAuthenticator } from '../auth/request-authenticator';
import { DomainError } from '../common/domain-error';
import { Public } from '../common/public-route';
import { BROKER_CLIENT, BrokerClient } from '../broker/broker-client.port';
import { BrokerPacer } from '../broker/pacing/broker-pacer';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LeaderElection } from '../infra/leader/leader-election.service';
import { StateStore } from '../infra/state/state-store';
import { ReconciliationGateService } from '../reconciliation/reconciliation-gate.service';
import { SERVICE_NAME, SERVICE_VERSION } from '../common/service-info';

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Probes (docs/operations.md#health-and-readiness): live = the process answers; ready = it can serve
 * (database and state store reachable); /health adds details for operators.
 *
 * The probes are public, so what they say without a key is only the overall
 * status and each component's state (up / down / degraded): quarantined
 * symbols, instance ids, the leader, flags and error text are details for a
 * caller with a valid API key (any permission) on /health, and never on
 * /health/live or /health/ready (docs/security.md#health-endpoints).
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
    private readonly authenticator: RequestAuthenticator,
    private readonly pacer: BrokerPacer,
  ) {}

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Health: each component up, down or degraded; with any valid API key, the details too',
  })
  async check(@Req() req: Request) {
    const detailed = await this.hasValidKey(req);
    return this.answer(
      detailed,
      () => this.fullCheck(),
      (r) => this.withServiceFields(r),
    );
  }

  /**
   * The original design's fields beside terminus's (docs/api.md#compatibility):
   * flags and booleans only, the same with or without a key. `alpaca_connected`
   * is true when orders go to Alpaca (BROKER=alpaca, DRY_RUN=false) and the
   * broker_stream component is up: on the leader its stream is connected; a
   * follower follows the leader's.
   */
  private withServiceFields(r: HealthCheckResult): HealthCheckResult & ServiceFields {
    const all = { ...r.info, ...r.error, ...r.details };
    return {
      ...r,
      service: SERVICE_NAME,
      version: SERVICE_VERSION,
      dry_run: this.config.dryRun,
      database_connected: all.database?.status === 'up',
      alpaca_connected:
        !this.config.dryRun && this.config.broker.kind === 'alpaca' && all.broker_stream?.status === 'up',
    };
  }

  private fullCheck() {
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
      () => this.brokerPacing(),
    ]);
  }

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process is up and its event loop answers' })
  live() {
    return this.answer(false, () => this.health.check([]));
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: database and state store reachable' })
  ready() {
    return this.answer(false, () => this.health.check([() => this.database(), () => this.stateStore()]));
  }

  /**
   * Runs the checks; without `detailed`, each component is reduced to its state, also in a 503.
   * `extra` adds top-level fields to the answer, computed from the full result.
   */
  private async answer(
    detailed: boolean,
    run: () => Promise<HealthCheckResult>,
    extra: (r: HealthCheckResult) => HealthCheckResult = (r) => r,
  ): Promise<HealthCheckResult> {
    let result: HealthCheckResult;
    try {
      result = await run();
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const failed = err.getResponse() as HealthCheckResult;
      throw new ServiceUnavailableException({ ...extra(failed), ...(detailed ? failed : statesOnly(failed)) });
    }
    return { ...extra(result), ...(detailed ? result : statesOnly(result)) };
  }

  /**
   * Any valid key, whatever its permissions; no key, a bad one or a throttled
   * address simply gets the short answer. A miss counts against the address
   * like anywhere else, so this is no unthrottled way to test keys.
   */
  private async hasValidKey(req: Request): Promise<boolean> {
    try {
      return (await this.authenticator.authenticate(req)).kind === 'valid';
    } catch (err) {
      if (err instanceof DomainError && err.code === 'RATE_LIMITED') return false;
      return false;
    }
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

  /**
   * The outbound broker budget (docs/broker-pacing.md): reported, never down.
   * `queued_orders` are the orders waiting for a slot in PostgreSQL (all
   * replicas); `backlog` the calls waiting on this replica, by class.
   */
  private brokerPacing() {
    const session = this.indicator.check('broker_pacing');
    return session
      .attempt(async () => {
        const rows: Array<{ n: string }> = await this.ds
          .query(`SELECT count(*) AS n FROM orders WHERE status = 'pending_new' AND metadata ? 'paced_until'`)
          .catch(() => [{ n: null }]);
        const usage = this.pacer.usage();
        return {
          budget: this.pacer.budget,
          window_ms: this.pacer.windowMs,
          budget_in_force: usage.budget,
          used_in_window: usage.used,
          backlog: this.pacer.backlog(),
          // null when the database cannot say (its own component reports that).
          queued_orders: rows[0]?.n === null || rows[0]?.n === undefined ? null : Number(rows[0].n),
        };
      })
      .withTimeout(CHECK_TIMEOUT_MS);
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

type Components = HealthCheckResult['details'];

interface ServiceFields {
  service: string;
  version: string;
  dry_run: boolean;
  database_connected: boolean;
  alpaca_connected: boolean;
}

function states(c: Partial<Components> | undefined): Components {
  const out: Components = {};
  for (const [name, v] of Object.entries(c ?? {})) if (v) out[name] = { status: v.status };
  return out;
}

/** The overall status and each component's state, nothing else. */
export function statesOnly(r: HealthCheckResult): HealthCheckResult {
  return { status: r.status, info: states(r.info), error: states(r.error), details: states(r.details) };
}
