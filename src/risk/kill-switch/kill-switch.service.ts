import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { StateStore } from '../../infra/state/state-store';
import {
  applyRead,
  decideNewExposure,
  KILL_SWITCH_HISTORY_LIMIT,
  KILL_SWITCH_REFRESH_MS,
  KillSwitchSnapshot,
  KillSwitchState,
  parseState,
  serializeState,
} from './kill-switch-state';
import { KillSwitchView } from '../pipeline/pre-trade-checks';
import { KillSwitchEvent, KillSwitchRepository } from './kill-switch.repository';

/** Redis key (under the deployment's key prefix) caching the state, read when PostgreSQL cannot be. */
export const KILL_SWITCH_KEY = 'kill_switch:state';
/**
 * Change notifications. The message only says "read again": channels are not
 * prefixed, so deployments sharing a Redis may hear each other, and the state
 * itself always comes from this deployment's own PostgreSQL (or key).
 */
export const KILL_SWITCH_CHANNEL = 'kill_switch.changes';

export interface KillSwitchStatus {
  state: KillSwitchState;
  history: KillSwitchEvent[];
  /** What the cancel-all on engage did, when one was asked for. */
  cancelAll?: Record<string, unknown>;
}

/** Cancels every open order (registered by the orders module, which depends on this one). */
export type CancelAllHook = (ctx: ActorContext) => Promise<Record<string, unknown>>;

/** Orders admitted just before the engage may be written after the first sweep: one more sweep after this. */
export const CANCEL_ALL_SECOND_SWEEP_MS = 2_000;

/**
 * Each replica holds the state in memory: re-read from PostgreSQL every
 * 250 ms (the Redis key when PostgreSQL fails), and at once when a change is
 * announced on `kill_switch.changes`. The order path only looks at memory; a
 * state not confirmed within the last second counts as unreadable (fail
 * closed, SPEC §2.5).
 */
@Injectable()
export class KillSwitchService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('KillSwitch');
  private snapshot: KillSwitchSnapshot | null = null;
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private again = false;
  private unsubscribe?: () => Promise<void>;
  private cachedVersion = -1;
  private stopped = false;
  private cancelAll?: CancelAllHook;

  constructor(
    private readonly repo: KillSwitchRepository,
    private readonly store: StateStore,
    private readonly audit: AuditRepository,
    private readonly metrics: GatewayMetrics,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      this.unsubscribe = await this.store.subscribe(KILL_SWITCH_CHANNEL, () => void this.refresh());
    } catch (err) {
      // The periodic refresh still propagates changes, within 250 ms instead of at once.
      this.logger.warn(`cannot subscribe to ${KILL_SWITCH_CHANNEL}: ${(err as Error).message}`);
    }
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), KILL_SWITCH_REFRESH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.().catch(() => undefined);
    await this.refreshing?.catch(() => undefined);
  }

  /**
   * Re-reads the state. Concurrent calls share one read, and a call that
   * arrives during a read causes one more read after it (a change notified
   * mid-read is not missed). Never throws: a failed read just leaves the
   * snapshot to age.
   */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.again = false;
        await this.readOnce();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async readOnce(): Promise<void> {
    const startedAt = performance.now();
    try {
      const state = await this.repo.readState();
      this.accept(state, startedAt);
      if (state.version !== this.cachedVersion) {
        // A failed cache write only matters if PostgreSQL is later down; the next read writes again.
        await this.store.set(KILL_SWITCH_KEY, serializeState(state)).then(
          () => void (this.cachedVersion = state.version),
          () => undefined,
        );
      }
      return;
    } catch (err) {
      this.logger.debug(`kill-switch state: PostgreSQL read failed: ${(err as Error).message}`);
    }
    try {
      const raw = await this.store.get(KILL_SWITCH_KEY);
      const state = raw === null ? null : parseState(raw);
      // Only a version at least as new as what this replica knows: the key may lag behind a change.
      if (state && (!this.snapshot || state.version >= this.snapshot.state.version)) this.accept(state, startedAt);
    } catch (err) {
      this.logger.debug(`kill-switch state: Redis read failed: ${(err as Error).message}`);
    }
  }

  private accept(state: KillSwitchState, readStartedAt: number): void {
    const before = this.snapshot?.state.engaged;
    this.snapshot = applyRead(this.snapshot, state, readStartedAt);
    if (before !== undefined && before !== this.snapshot.state.engaged) {
      this.logger.warn(`kill switch ${this.snapshot.state.engaged ? 'ENGAGED' : 'disengaged'} (seen by this replica)`);
    }
  }

  /**
   * The pre-trade pipeline's view (SPEC §6 step 4, first): memory only; a
   * state not confirmed within the last second is unreadable (fail closed).
   */
  current(): KillSwitchView {
    const decision = decideNewExposure(this.snapshot, performance.now());
    const state = this.snapshot?.state;
    return {
      readable: decision !== 'unavailable',
      engaged: decision === 'engaged',
      reason: state?.reason ?? null,
      engagedAt: state?.engagedAt ?? null,
      engagedBy: state?.engagedBy ?? null,
    };
  }

  registerCancelAll(hook: CancelAllHook): void {
    this.cancelAll = hook;
  }

  /**
   * Idempotent: engaging an engaged switch changes and records nothing and
   * answers the current status. With `cancelOpenOrders`, every open order is
   * then cancelled (also on an already engaged switch: an operator may ask
   * again), and once more a moment later for orders admitted just before the
   * engage; both sweeps are audited.
   */
  async engage(
    cmd: { operator: string; reason: string; details: Record<string, unknown> | null; cancelOpenOrders: boolean },
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
    if (changed) await this.announce(changed);
    if (!cmd.cancelOpenOrders) return this.status();
    const cancelAll = await this.sweep(cmd.operator, ctx);
    const again = setTimeout(() => void this.sweep(cmd.operator, ctx), CANCEL_ALL_SECOND_SWEEP_MS);
    again.unref();
    return { ...(await this.status()), cancelAll };
  }

  private async sweep(operator: string, ctx: ActorContext): Promise<Record<string, unknown>> {
    if (!this.cancelAll || this.stopped) return { error: 'cancel-all is not available in this process' };
    let summary: Record<string, unknown>;
    try {
      summary = await this.cancelAll({ actor: operator, requestId: ctx.requestId });
    } catch (err) {
      this.logger.error(`cancel-all on engage failed: ${(err as Error).message}`);
      summary = { error: (err as Error).message };
    }
    await this.audit
      .append({
        action: 'kill_switch.cancel_all',
        actor: operator,
        requestId: ctx.requestId,
        details: { ...summary, api_key: ctx.actor },
      })
      .catch((err: Error) => this.logger.error(`cannot audit cancel-all: ${err.message}`));
    return summary;
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
    if (changed) await this.announce(changed);
    return this.status();
  }

  /** From PostgreSQL (the operator wants the truth, not a cache). */
  async status(): Promise<KillSwitchStatus> {
    const [state, history] = await Promise.all([this.repo.readState(), this.repo.history(KILL_SWITCH_HISTORY_LIMIT)]);
    return { state, history };
  }

  /** After commit: this replica at once, the others through the channel (and the periodic read regardless). */
  private async announce(state: KillSwitchState): Promise<void> {
    this.accept(state, performance.now());
    try {
      await this.store.set(KILL_SWITCH_KEY, serializeState(state));
      this.cachedVersion = state.version;
      await this.store.publish(KILL_SWITCH_CHANNEL, String(state.version));
    } catch (err) {
      this.logger.warn(`kill-switch change not announced (replicas see it within 250 ms): ${(err as Error).message}`);
    }
  }
}
