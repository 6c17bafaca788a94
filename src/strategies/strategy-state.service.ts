import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { InputValidationError } from '../common/domain-error';
import { Clock } from '../infra/clock/clock';
import { Tx } from '../infra/database/unit-of-work';
import { ReplicatedState } from '../infra/state/replicated-state';
import { StateStore } from '../infra/state/state-store';
import { OrderEventRepository } from '../events/persistence/order-event.repository';
import { StrategyStateView } from '../risk/pipeline/pre-trade-checks';
import { StrategyStateGate, StrategyStateSource } from '../risk/pipeline/pre-trade-sources';
import {
  HEARTBEAT_MAX_SECONDS,
  HEARTBEAT_MIN_SECONDS,
  heartbeatDeadline,
  parseStates,
  serializeStates,
  STRATEGY_STATE_MAX_AGE_MS,
  STRATEGY_STATE_REFRESH_MS,
  StrategyStateRecord,
  StrategyStates,
  strategyView,
  StrategyTradingState,
} from './domain/strategy-state';
import { StrategyStateRepository } from './persistence/strategy-state.repository';

export const STRATEGY_STATE_KEY = 'strategy_states:state';
/** "Read again" notifications; the message carries no state (docs/security.md#redis-channels-and-deployments). */
export const STRATEGY_STATE_CHANNEL = 'strategy_states.changes';

export interface StateChange {
  state: StrategyTradingState;
  reason: string | null;
  operator: string;
}

/**
 * Per-strategy trading states (docs/strategies-and-pnl.md#strategy-states):
 * durable in PostgreSQL, held in memory on every replica (re-read every
 * 250 ms and at once on a change notification, the Redis copy when
 * PostgreSQL fails), read by the pre-trade pipeline through risk's
 * StrategyStateGate. Unconfirmed for more than a second: unreadable, and the
 * pipeline refuses (fail closed).
 */
@Injectable()
export class StrategyStateService
  implements StrategyStateSource, OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger('StrategyState');
  private readonly replica: ReplicatedState<StrategyStates>;

  constructor(
    private readonly repo: StrategyStateRepository,
    store: StateStore,
    private readonly gate: StrategyStateGate,
    private readonly audit: AuditRepository,
    private readonly events: OrderEventRepository,
    private readonly clock: Clock,
  ) {
    this.replica = new ReplicatedState({
      name: 'strategy-state',
      what: 'states',
      logger: this.logger,
      store,
      read: () => repo.readStates(),
      cache: { key: STRATEGY_STATE_KEY, serialize: serializeStates, parse: parseStates },
      channel: STRATEGY_STATE_CHANNEL,
      refreshMs: STRATEGY_STATE_REFRESH_MS,
      maxAgeMs: STRATEGY_STATE_MAX_AGE_MS,
    });
  }

  onModuleInit(): void {
    this.gate.bind(this);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.replica.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.replica.stop();
  }

  /** The order path's view: memory only. */
  current(strategyId: string): StrategyStateView {
    return strategyView(this.replica.snapshot, strategyId, performance.now());
  }

  refresh(): Promise<void> {
    return this.replica.refresh();
  }

  find(strategyId: string): Promise<StrategyStateRecord | null> {
    return this.repo.find(strategyId);
  }

  /** Sets the state; the same state again changes and records nothing. Audited; every replica within 1 s. */
  async setState(strategyId: string, change: StateChange, ctx: ActorContext): Promise<StrategyStateRecord> {
    const result = await this.repo.withLocked(strategyId, change.operator, async (current, tx) => {
      if (current.state === change.state && current.reason === change.reason)
        return { record: current, changed: false };
      const record = await this.write(tx, strategyId, current, change, ctx, {});
      return { record, changed: true };
    });
    if (result.changed) await this.replica.announceReread('changed');
    return result.record;
  }

  /**
   * Halts a strategy whose heartbeat is due (checked again under the row
   * lock: a heartbeat that re-armed it meanwhile wins). Answers whether it
   * halted.
   */
  async expireHeartbeat(strategyId: string, now: Date): Promise<boolean> {
    const ctx: ActorContext = { actor: 'system' };
    const halted = await this.repo.withLocked(strategyId, 'system', async (current, tx) => {
      const hb = current.heartbeat;
      if (!hb || hb.expiresAt.getTime() > now.getTime()) return false;
      await this.write(
        tx,
        strategyId,
        current,
        { state: 'halted', reason: 'HEARTBEAT_EXPIRED', operator: 'system' },
        ctx,
        {
          clearHeartbeat: true,
          heartbeat: {
            timeout_seconds: hb.timeoutSeconds,
            last_at: hb.lastAt.toISOString(),
            expired_at: hb.expiresAt.toISOString(),
          },
        },
      );
      return true;
    });
    if (halted) await this.replica.announceReread('changed');
    return halted;
  }

  /** Arms (or re-arms) the dead-man's switch: due `timeoutSeconds` from now. */
  async heartbeat(strategyId: string, timeoutSeconds: number, ctx: ActorContext): Promise<StrategyStateRecord> {
    if (
      !Number.isInteger(timeoutSeconds) ||
      timeoutSeconds < HEARTBEAT_MIN_SECONDS ||
      timeoutSeconds > HEARTBEAT_MAX_SECONDS
    ) {
      throw InputValidationError.field(
        'timeout_seconds',
        `must be an integer from ${HEARTBEAT_MIN_SECONDS} to ${HEARTBEAT_MAX_SECONDS}`,
      );
    }
    return this.repo.withLocked(strategyId, ctx.actor, async (current, tx) => {
      const now = this.clock.now();
      const armed = current.heartbeat === null;
      const record = await this.repo.setHeartbeat(tx, strategyId, {
        timeoutSeconds,
        lastAt: now,
        expiresAt: heartbeatDeadline(now, timeoutSeconds),
      });
      // Arming and changing the timeout are audited; a routine re-arm at the same timeout is not.
      if (armed || current.heartbeat?.timeoutSeconds !== timeoutSeconds) {
        await this.audit.append(
          {
            action: 'strategy.heartbeat_armed',
            actor: ctx.actor,
            requestId: ctx.requestId,
            strategyId,
            details: { timeout_seconds: timeoutSeconds, expires_at: record.heartbeat?.expiresAt.toISOString() },
          },
          tx,
        );
      }
      return record;
    });
  }

  /** Disarms the dead-man's switch (nothing armed: nothing changes). */
  async disarm(strategyId: string, ctx: ActorContext): Promise<StrategyStateRecord> {
    return this.repo.withLocked(strategyId, ctx.actor, async (current, tx) => {
      if (!current.heartbeat) return current;
      const record = await this.repo.setHeartbeat(tx, strategyId, null);
      await this.audit.append(
        { action: 'strategy.heartbeat_disarmed', actor: ctx.actor, requestId: ctx.requestId, strategyId },
        tx,
      );
      return record;
    });
  }

  private async write(
    tx: Tx,
    strategyId: string,
    current: StrategyStateRecord,
    change: StateChange,
    ctx: ActorContext,
    extra: { clearHeartbeat?: boolean; heartbeat?: Record<string, unknown> },
  ): Promise<StrategyStateRecord> {
    const at = this.clock.now();
    const record = await this.repo.setState(tx, strategyId, {
      state: change.state,
      reason: change.reason,
      by: change.operator,
      at,
      clearHeartbeat: extra.clearHeartbeat,
    });
    const details = {
      from: current.state,
      to: change.state,
      reason: change.reason,
      api_key: ctx.actor,
      ...(extra.heartbeat ? { heartbeat: extra.heartbeat } : {}),
    };
    await this.audit.append(
      {
        action: `strategy.${change.state}`,
        actor: change.operator,
        requestId: ctx.requestId,
        strategyId,
        reasonCode: change.reason === 'HEARTBEAT_EXPIRED' ? 'HEARTBEAT_EXPIRED' : null,
        details,
      },
      tx,
    );
    // On the order event stream too, so a strategy's own consumer hears it at once.
    await this.events.append(tx, {
      clientOrderId: `strategy:${strategyId}`,
      strategyId,
      symbol: '*',
      eventType: 'strategy.state',
      status: change.state,
      payload: details,
      createdAt: at,
    });
    return record;
  }
}
