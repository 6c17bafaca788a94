import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { DomainError } from '../../common/domain-error';
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
}

/** The order about to be written, as far as a refusal's audit row needs it. */
export interface NewExposure {
  clientOrderId: string;
  strategyId: string;
  symbol: string;
  side: string;
  qty: string;
  orderType: string;
}

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
   * The pre-trade check (SPEC §6 step 4, first). Throws 503 KILL_SWITCH_ENGAGED
   * or SAFETY_STATE_UNAVAILABLE, after auditing the refusal; no order row is
   * written, so the same request is evaluated afresh later. Memory only on the
   * passing path.
   */
  async assertNewExposureAllowed(
    order: NewExposure,
    ctx: ActorContext,
    alreadyExists?: () => Promise<boolean>,
  ): Promise<void> {
    const decision = decideNewExposure(this.snapshot, performance.now());
    if (decision === 'allow') return;
    // A replay of an order that already exists adds no exposure: it is answered with that order.
    if (alreadyExists && (await alreadyExists().catch(() => false))) return;
    const code = decision === 'engaged' ? 'KILL_SWITCH_ENGAGED' : 'SAFETY_STATE_UNAVAILABLE';
    this.metrics.orderRejected(code);
    try {
      await this.audit.append({
        action: 'order.rejected',
        actor: ctx.actor,
        requestId: ctx.requestId,
        clientOrderId: order.clientOrderId,
        strategyId: order.strategyId,
        symbol: order.symbol,
        reasonCode: code,
        details: { side: order.side, qty: order.qty, order_type: order.orderType },
      });
    } catch (err) {
      // The refusal stands either way; refusing is the safe side.
      this.logger.error(`cannot audit the ${code} refusal of ${order.clientOrderId}: ${(err as Error).message}`);
    }
    if (decision === 'engaged') {
      const state = this.snapshot!.state;
      throw new DomainError('unavailable', code, `Kill switch engaged: ${state.reason ?? 'no reason given'}`, {
        client_order_id: order.clientOrderId,
        engaged_at: state.engagedAt?.toISOString() ?? null,
        engaged_by: state.engagedBy,
      });
    }
    throw new DomainError(
      'unavailable',
      code,
      'Kill-switch state cannot be read: orders that add exposure are refused until it can (cancels still pass)',
      { client_order_id: order.clientOrderId },
    );
  }

  /** Idempotent: engaging an engaged switch changes and records nothing and answers the current status. */
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
    if (changed) await this.announce(changed);
    return this.status();
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
