import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { BrokerCallObserver, BrokerCallOutcome, isBrokerHealthFailure } from '../../broker/broker-call-observer';
import { ConflictError } from '../../common/domain-error';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { StateStore } from '../../infra/state/state-store';
import { ReplicatedState } from '../../infra/state/replicated-state';
import { evaluateBrokerErrors, TripDecision } from './circuit-breaker-rules';
import {
  CIRCUIT_BREAKER_HISTORY_LIMIT,
  CIRCUIT_BREAKER_MAX_AGE_MS,
  CIRCUIT_BREAKER_REFRESH_MS,
  CircuitBreakerState,
  CircuitBreakerView,
  parseState,
  serializeState,
  SYSTEM_OPERATOR,
  viewOf,
} from './circuit-breaker-state';
import { CircuitBreakerEvent, CircuitBreakerRepository } from './circuit-breaker.repository';

/** Redis key (under the deployment's key prefix) caching the state, read when PostgreSQL cannot be. */
export const CIRCUIT_BREAKER_KEY = 'circuit_breaker:state';
/** Sliding window of broker errors, shared by the replicas of one deployment. */
export const CIRCUIT_BREAKER_ERRORS_KEY = 'circuit_breaker:broker_errors';
/** Change notifications (`<prefix>circuit_breaker.changes`); the message only says "read again" (see KILL_SWITCH_CHANNEL). */
export const CIRCUIT_BREAKER_CHANNEL = 'circuit_breaker.changes';

export interface CircuitBreakerStatus {
  enabled: boolean;
  state: CircuitBreakerState;
  history: CircuitBreakerEvent[];
}

/**
 * The circuit breaker (docs/risk-and-safety.md#circuit-breaker): tripped automatically (by the monitor on the
 * leader, or here on a burst of broker errors seen by any replica) or by an
 * operator; only an operator resets it. Like the kill switch, every replica
 * holds the state in memory, re-read every 250 ms and at once on
 * `circuit_breaker.changes`; the order path reads `current()` only, and a
 * state not confirmed within 1 s is unreadable (fail closed, docs/risk-and-safety.md#fail-closed).
 * With CIRCUIT_BREAKER_ENABLED=false it never blocks and never trips.
 */
@Injectable()
export class CircuitBreakerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('CircuitBreaker');
  private readonly replica: ReplicatedState<CircuitBreakerState>;
  private stopListening?: () => void;
  /** One broker-error trip at a time on this replica; the rest would change nothing. */
  private brokerTrip?: Promise<unknown>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repo: CircuitBreakerRepository,
    private readonly store: StateStore,
    private readonly audit: AuditRepository,
    private readonly metrics: GatewayMetrics,
    private readonly brokerCalls: BrokerCallObserver,
    private readonly clock: Clock,
  ) {
    this.replica = new ReplicatedState({
      name: 'circuit-breaker',
      what: 'state',
      logger: this.logger,
      store,
      read: () => repo.readState(),
      cache: { key: CIRCUIT_BREAKER_KEY, serialize: serializeState, parse: parseState },
      channel: CIRCUIT_BREAKER_CHANNEL,
      refreshMs: CIRCUIT_BREAKER_REFRESH_MS,
      maxAgeMs: CIRCUIT_BREAKER_MAX_AGE_MS,
      onAccepted: (now, before) => {
        this.metrics.circuitBreakerState(this.enabled && now.tripped);
        if (before !== undefined && before.tripped !== now.tripped) {
          if (now.tripped) this.logger.warn(`circuit breaker TRIPPED (${now.reasonCode}): ${now.reason}`);
          else this.logger.warn(`circuit breaker reset by ${now.resetBy}`);
        }
      },
    });
  }

  get enabled(): boolean {
    return this.config.circuitBreakerEnabled;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.replica.start();
    if (this.enabled) this.stopListening = this.brokerCalls.listen((o) => this.onBrokerCall(o));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopListening?.();
    await this.replica.stop();
    await this.brokerTrip?.catch(() => undefined);
  }

  /**
   * What the pre-trade pipeline reads on every order: synchronous, from memory.
   * `readable` is false when the state was not confirmed within the last second.
   * Disabled: readable and never tripped.
   */
  current(): CircuitBreakerView {
    return viewOf(this.replica.snapshot, performance.now(), this.enabled);
  }

  /** Re-reads the state (PostgreSQL, else the Redis copy). Never throws. */
  refresh(): Promise<void> {
    return this.replica.refresh();
  }

  /** Manual trip. Idempotent: on a tripped breaker nothing changes or is recorded. 409 when disabled. */
  async trip(cmd: { operator: string; reason: string }, ctx: ActorContext): Promise<CircuitBreakerStatus> {
    if (!this.enabled) {
      throw new ConflictError(
        'CIRCUIT_BREAKER_DISABLED',
        'The circuit breaker is disabled (CIRCUIT_BREAKER_ENABLED=false); use the kill switch to halt trading',
      );
    }
    await this.record(
      { operator: cmd.operator, reasonCode: 'MANUAL', reason: cmd.reason, details: null },
      { actor: ctx.actor, requestId: ctx.requestId ?? null },
    );
    return this.status();
  }

  /**
   * An automatic trip (operator `system`). Idempotent; does nothing when
   * disabled. Answers whether this call tripped the breaker.
   */
  async autoTrip(decision: TripDecision): Promise<boolean> {
    if (!this.enabled) return false;
    return this.record(
      {
        operator: SYSTEM_OPERATOR,
        reasonCode: decision.reasonCode,
        reason: decision.reason,
        details: decision.details,
      },
      null,
    );
  }

  /** Idempotent: resetting an open breaker changes and records nothing. Allowed when disabled (clears an old trip). */
  async reset(cmd: { operator: string; notes: string | null }, ctx: ActorContext): Promise<CircuitBreakerStatus> {
    const changed = await this.repo.withLockedState(async (current, tx) => {
      if (!current.tripped) return null;
      const state = await this.repo.reset(tx, cmd);
      await this.audit.append(
        {
          action: 'circuit_breaker.reset',
          actor: cmd.operator,
          requestId: ctx.requestId,
          details: {
            notes: cmd.notes,
            api_key: ctx.actor,
            version: state.version,
            tripped: { reason_code: current.reasonCode, reason: current.reason, at: current.trippedAt },
          },
        },
        tx,
      );
      return state;
    });
    if (changed) await this.replica.announce(changed);
    return this.status();
  }

  /** From PostgreSQL (the operator wants the truth, not a cache). */
  async status(): Promise<CircuitBreakerStatus> {
    const [state, history] = await Promise.all([
      this.repo.readState(),
      this.repo.history(CIRCUIT_BREAKER_HISTORY_LIMIT),
    ]);
    return { enabled: this.enabled, state, history };
  }

  private async record(
    trip: { operator: string; reasonCode: string; reason: string; details: Record<string, unknown> | null },
    by: { actor: string; requestId: string | null } | null,
  ): Promise<boolean> {
    const changed = await this.repo.withLockedState(async (current, tx) => {
      if (current.tripped) return null;
      const state = await this.repo.trip(tx, trip);
      await this.audit.append(
        {
          action: 'circuit_breaker.tripped',
          actor: trip.operator,
          requestId: by?.requestId ?? null,
          reasonCode: trip.reasonCode,
          details: {
            reason: trip.reason,
            figures: trip.details,
            ...(by ? { api_key: by.actor } : {}),
            version: state.version,
          },
        },
        tx,
      );
      return state;
    });
    if (!changed) return false;
    this.metrics.circuitBreakerTripped(trip.reasonCode);
    await this.replica.announce(changed);
    return true;
  }

  /**
   * Broker errors are counted in a sliding window shared by every replica; the
   * replica whose error reaches the threshold trips the breaker at once.
   */
  private onBrokerCall(o: BrokerCallOutcome): void {
    if (o.ok || !isBrokerHealthFailure(o.outcome)) return;
    const view = this.current();
    if (view.readable && view.tripped) return;
    void this.countBrokerError(o).catch((err: unknown) => {
      this.metrics.circuitBreakerCheckFailed('BROKER_ERRORS');
      this.logger.warn(`broker error not counted: ${(err as Error).message}`);
    });
  }

  private async countBrokerError(o: BrokerCallOutcome): Promise<void> {
    const { brokerErrorThreshold: threshold, brokerErrorWindowSeconds: windowSeconds } = this.config.circuitBreaker;
    const hit = await this.store.slidingWindowHit(
      CIRCUIT_BREAKER_ERRORS_KEY,
      threshold,
      windowSeconds * 1000,
      this.clock.now().getTime(),
    );
    const decision = evaluateBrokerErrors(
      hit.allowed ? { full: false, count: hit.count } : { full: true },
      threshold,
      windowSeconds,
      {
        operation: o.operation,
        kind: o.outcome,
        message: o.error instanceof Error ? o.error.message : String(o.error),
      },
    );
    if (!decision || this.brokerTrip) return;
    this.brokerTrip = this.autoTrip(decision).finally(() => (this.brokerTrip = undefined));
    await this.brokerTrip;
  }
}
