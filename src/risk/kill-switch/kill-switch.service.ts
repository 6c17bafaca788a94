import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { killSwitchGaugeSource } from '../../infra/metrics/scrape-gauges';
import { StateStore } from '../../infra/state/state-store';
import { ReplicatedState } from '../../infra/state/replicated-state';
import {
  decideNewExposure,
  KILL_SWITCH_HISTORY_LIMIT,
  KILL_SWITCH_MAX_AGE_MS,
  KILL_SWITCH_REFRESH_MS,
  KillSwitchState,
  parseState,
  serializeState,
} from './kill-switch-state';
import { KillSwitchView } from '../pipeline/pre-trade-checks';
import { KillSwitchEvent, KillSwitchRepository } from './kill-switch.repository';

/** Redis key (under the deployment's key prefix) caching the state, read when PostgreSQL cannot be. */
export const KILL_SWITCH_KEY = 'kill_switch:state';
/**
 * Change notifications (`<prefix>kill_switch.changes` on the wire: the state
 * store puts the key prefix on every channel). The message only says "read
 * again": anyone who can reach the Redis can publish, so the state itself
 * always comes from this deployment's own PostgreSQL (or key), never from the
 * message (docs/security.md#redis-channels-and-deployments).
 */
export const KILL_SWITCH_CHANNEL = 'kill_switch.changes';

export interface KillSwitchStatus {
  state: KillSwitchState;
  history: KillSwitchEvent[];
}

/**
 * Each replica holds the state in memory: re-read from PostgreSQL every
 * 250 ms (the Redis key when PostgreSQL fails), and at once when a change is
 * announced on `kill_switch.changes`. The order path only looks at memory; a
 * state not confirmed within the last second counts as unreadable (fail
 * closed, docs/risk-and-safety.md#fail-closed).
 */
@Injectable()
export class KillSwitchService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('KillSwitch');
  private readonly replica: ReplicatedState<KillSwitchState>;
  private unbindGauge?: () => void;

  constructor(
    private readonly repo: KillSwitchRepository,
    store: StateStore,
    private readonly audit: AuditRepository,
    private readonly metrics: GatewayMetrics,
  ) {
    this.replica = new ReplicatedState({
      name: 'kill-switch',
      what: 'state',
      logger: this.logger,
      store,
      read: () => repo.readState(),
      cache: { key: KILL_SWITCH_KEY, serialize: serializeState, parse: parseState },
      channel: KILL_SWITCH_CHANNEL,
      refreshMs: KILL_SWITCH_REFRESH_MS,
      maxAgeMs: KILL_SWITCH_MAX_AGE_MS,
      onAccepted: (now, before) => {
        if (before !== undefined && before.engaged !== now.engaged) {
          this.logger.warn(`kill switch ${now.engaged ? 'ENGAGED' : 'disengaged'} (seen by this replica)`);
        }
      },
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.replica.start();
    this.unbindGauge = killSwitchGaugeSource.bind(() => {
      const view = this.current();
      return !view.readable ? 'unreadable' : view.engaged ? 'engaged' : 'disengaged';
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.unbindGauge?.();
    await this.replica.stop();
  }

  /** Re-reads the state (PostgreSQL, else the Redis copy). Never throws. */
  refresh(): Promise<void> {
    return this.replica.refresh();
  }

  /**
   * The pre-trade pipeline's view (docs/risk-and-safety.md#the-pre-trade-pipeline, first): memory only; a
   * state not confirmed within the last second is unreadable (fail closed).
   */
  current(): KillSwitchView {
    const snapshot = this.replica.snapshot;
    const decision = decideNewExposure(snapshot, performance.now());
    const state = snapshot?.state;
    return {
      readable: decision !== 'unavailable',
      engaged: decision === 'engaged',
      reason: state?.reason ?? null,
      engagedAt: state?.engagedAt ?? null,
      engagedBy: state?.engagedBy ?? null,
    };
  }

  /**
   * Idempotent: engaging an engaged switch changes and records nothing and
   * answers the current status. (Cancelling the open orders on engage is the
   * operator controls' business: src/controls/.)
   */
  async engage(
    cmd: { operator: string; reason: string; details: Record<string, unknown> | null },
    ctx: ActorContext,
  ): Promise<KillSwitchStatus> {
    const changed = await this.repo.withLockedState(async (current, manager) => {
      if (current.engaged) return null;
      const state = await this.repo.engage(manager, cmd);
      await this.audit.append(
        {
          action: 'kill_switch.engaged',
          actor: cmd.operator,
          requestId: ctx.requestId,
          details: { reason: cmd.reason, details: cmd.details, api_key: ctx.actor, version: state.version },
        },
        manager,
      );
      return state;
    });
    if (changed) await this.replica.announce(changed);
    return this.status();
  }

  /** False once the application is shutting down. */
  get running(): boolean {
    return !this.replica.stopped;
  }

  /** Idempotent: disengaging a released switch changes and records nothing and answers the current status. */
  async disengage(cmd: { operator: string; notes: string | null }, ctx: ActorContext): Promise<KillSwitchStatus> {
    const changed = await this.repo.withLockedState(async (current, manager) => {
      if (!current.engaged) return null;
      const state = await this.repo.disengage(manager, cmd);
      await this.audit.append(
        {
          action: 'kill_switch.disengaged',
          actor: cmd.operator,
          requestId: ctx.requestId,
          details: { notes: cmd.notes, api_key: ctx.actor, version: state.version },
        },
        manager,
      );
      return state;
    });
    if (changed) await this.replica.announce(changed);
    return this.status();
  }

  /** From PostgreSQL (the operator wants the truth, not a cache). */
  async status(): Promise<KillSwitchStatus> {
    const [state, history] = await Promise.all([this.repo.readState(), this.repo.history(KILL_SWITCH_HISTORY_LIMIT)]);
    return { state, history };
  }
}
