/**
 * Engaging the kill switch from the operator's side (docs/risk-and-safety.md,
 * "Kill switch"): the switch itself (risk/), then, when asked, every open
 * order cancelled through the one CancelAllOrdersUseCase, and once more a
 * moment later for orders admitted just before the engage. Both sweeps are
 * audited; a sweep's failure never undoes the engage.
 */
import { Injectable, Logger } from '@nestjs/common';
import { ActorContext } from '../audit/audit-entry';
import { AuditRepository } from '../audit/audit.repository';
import { Scheduler } from '../infra/clock/scheduler';
import { KillSwitchService, KillSwitchStatus } from '../risk/kill-switch/kill-switch.service';
import { CancelAllOrdersUseCase, CancelAllSummary, toSummary } from './cancel-all-orders.use-case';

/** Orders admitted just before the engage may be written after the first sweep: one more sweep after this. */
export const CANCEL_ALL_SECOND_SWEEP_MS = 2_000;

export type CancelAllOutcome = CancelAllSummary | { error: string };

export interface EngageCommand {
  operator: string;
  reason: string;
  details: Record<string, unknown> | null;
  cancelOpenOrders: boolean;
}

@Injectable()
export class EngageKillSwitchUseCase {
  private readonly logger = new Logger('KillSwitch');

  constructor(
    private readonly killSwitch: KillSwitchService,
    private readonly cancelAll: CancelAllOrdersUseCase,
    private readonly audit: AuditRepository,
    private readonly scheduler: Scheduler,
  ) {}

  /**
   * Idempotent like the switch; with `cancelOpenOrders` the sweep runs also on
   * an already engaged switch (an operator may ask again).
   */
  async execute(cmd: EngageCommand, ctx: ActorContext): Promise<KillSwitchStatus & { cancelAll?: CancelAllOutcome }> {
    const status = await this.killSwitch.engage(
      { operator: cmd.operator, reason: cmd.reason, details: cmd.details },
      ctx,
    );
    if (!cmd.cancelOpenOrders) return status;
    const cancelAll = await this.sweep(cmd.operator, ctx);
    this.scheduler.after(CANCEL_ALL_SECOND_SWEEP_MS, () => this.sweep(cmd.operator, ctx), {
      name: 'kill-switch second cancel-all sweep',
    });
    return { ...(await this.killSwitch.status()), cancelAll };
  }

  private async sweep(operator: string, ctx: ActorContext): Promise<CancelAllOutcome> {
    if (!this.killSwitch.running) return { error: 'cancel-all is not available in this process' };
    let summary: CancelAllOutcome;
    try {
      summary = toSummary(await this.cancelAll.execute({ actor: operator, requestId: ctx.requestId }));
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
}
