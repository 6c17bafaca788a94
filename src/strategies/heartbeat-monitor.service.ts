import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Principal, PERMISSIONS } from '../auth/permission';
import { CancelAllOrdersUseCase } from '../controls/cancel-all-orders.use-case';
import { Clock } from '../infra/clock/clock';
import { Scheduler, TaskHandle } from '../infra/clock/scheduler';
import { LeaderElection } from '../infra/leader/leader-election.service';
import { PlanQueriesUseCase } from '../twap/use-cases/plan-queries.use-case';
import { StrategyStateRepository } from './persistence/strategy-state.repository';
import { StrategyStateService } from './strategy-state.service';

const SYSTEM = new Principal('system', 'heartbeat-monitor', new Set(PERMISSIONS), ['*']);

/** How often the leader looks for due heartbeats. */
export const HEARTBEAT_SCAN_MS = 1_000;
/** A strategy swept (cancels sent after an interrupted expiry) is not swept again sooner than this. */
export const HEARTBEAT_SWEEP_INTERVAL_MS = 30_000;

/**
 * The dead-man's switch (docs/strategies-and-pnl.md#dead-mans-switch): every
 * second, on the leader only, the strategies whose persisted heartbeat
 * deadline has passed are halted (HEARTBEAT_EXPIRED, audited, an event on the
 * order stream) and their open orders cancelled. The deadline lives in
 * PostgreSQL, so it fires even if the leader changes between the heartbeat
 * and the deadline.
 *
 * The halt commits before the cancels are sent; should the process stop in
 * between, the strategy would stay halted with its orders open. So each scan
 * also sweeps strategies halted with reason HEARTBEAT_EXPIRED that still have
 * open orders or live TWAP plans, and cancels them (each strategy at most
 * every HEARTBEAT_SWEEP_INTERVAL_MS, so an order slow to cancel is not asked
 * again every second).
 */
@Injectable()
export class HeartbeatMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('HeartbeatMonitor');
  private timer?: TaskHandle;
  /** strategy id → when it was last swept (ms). */
  private readonly swept = new Map<string, number>();

  constructor(
    private readonly repo: StrategyStateRepository,
    private readonly states: StrategyStateService,
    private readonly cancelAll: CancelAllOrdersUseCase,
    private readonly twapPlans: PlanQueriesUseCase,
    private readonly leader: LeaderElection,
    private readonly scheduler: Scheduler,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = this.scheduler.every(HEARTBEAT_SCAN_MS, () => this.leader.whenLeader(() => this.scan()), {
      name: 'heartbeat-monitor',
    });
  }

  onApplicationShutdown(): void {
    this.timer?.cancel();
  }

  /** One pass: halts and cancels every strategy due now. Answers the strategies it halted. */
  async scan(): Promise<string[]> {
    const now = this.clock.now();
    const due = await this.repo.dueHeartbeats(now).catch((err: unknown) => {
      this.logger.warn(`cannot read heartbeat deadlines: ${(err as Error).message}`);
      return [] as string[];
    });
    const fired: string[] = [];
    for (const strategyId of due) {
      try {
        if (!(await this.states.expireHeartbeat(strategyId, now))) continue;
        fired.push(strategyId);
        this.logger.warn(
          `heartbeat of strategy ${strategyId} expired: halted, cancelling its TWAP plans and open orders`,
        );
        this.swept.set(strategyId, now.getTime());
        await this.cancelWorkOf(strategyId);
      } catch (err) {
        this.logger.error(`heartbeat expiry of ${strategyId} failed: ${(err as Error).message}`);
      }
    }
    await this.sweep(now, fired);
    return fired;
  }

  /** Cancels what an interrupted expiry left open (see the class comment). */
  private async sweep(now: Date, firedNow: readonly string[]): Promise<void> {
    const left = await this.repo.haltedByHeartbeatWithOpenWork().catch((err: unknown) => {
      this.logger.warn(`cannot read halted strategies with open orders: ${(err as Error).message}`);
      return [] as string[];
    });
    for (const strategyId of left) {
      if (firedNow.includes(strategyId)) continue;
      const last = this.swept.get(strategyId);
      if (last !== undefined && now.getTime() - last < HEARTBEAT_SWEEP_INTERVAL_MS) continue;
      this.swept.set(strategyId, now.getTime());
      this.logger.warn(`strategy ${strategyId} halted by its heartbeat still has open orders or plans: cancelling`);
      try {
        await this.cancelWorkOf(strategyId);
      } catch (err) {
        this.logger.error(`heartbeat sweep of ${strategyId} failed: ${(err as Error).message}`);
      }
    }
    for (const id of this.swept.keys()) if (!left.includes(id) && !firedNow.includes(id)) this.swept.delete(id);
  }

  /** The strategy's live TWAP plans, then its open orders (cancel-all, reason HEARTBEAT_EXPIRED). */
  private async cancelWorkOf(strategyId: string): Promise<void> {
    // Plans first: a plan left running would send its next slice (refused by the halt, but
    // carried forward until the window ends); cancelling it also cancels its open children.
    const plans = await this.twapPlans.cancelPlansOf(strategyId, SYSTEM, { actor: 'system' });
    if (plans.failed.length) {
      this.logger.error(`heartbeat expiry of ${strategyId}: ${plans.failed.length} TWAP plan cancels failed`);
    }
    const report = await this.cancelAll.run(
      { strategyId },
      SYSTEM,
      { operator: 'system', reason: 'HEARTBEAT_EXPIRED' },
      { actor: 'system' },
    );
    if (report.failed.length) {
      this.logger.error(`heartbeat expiry of ${strategyId}: ${report.failed.length} cancels failed`);
    }
  }
}
