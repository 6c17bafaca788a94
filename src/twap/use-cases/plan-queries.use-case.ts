/**
 * Reading and cancelling a plan (docs/twap.md#reading-a-plan, #cancelling-a-plan).
 * A plan of a strategy outside the key's scope is answered 404, like an order.
 */
import { Injectable, Logger } from '@nestjs/common';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { Principal } from '../../auth/permission';
import { NotFoundError } from '../../common/domain-error';
import { Clock } from '../../infra/clock/clock';
import { UnitOfWork } from '../../infra/database/unit-of-work';
import { CancelOrderUseCase } from '../../orders/use-cases/cancel-order.use-case';
import { PlanView, toPlanView } from '../domain/plan-view';
import { TwapPlan, TwapRepository } from '../persistence/twap.repository';
import { TwapDispatcher } from '../twap-dispatcher.service';

export interface CancelPlanResult {
  parent_order_id: string;
  /** Slices stopped before they were sent (all calls together). */
  canceled_slices: number;
  /** Child orders cancelled: ended canceled, or with their cancel under way. */
  canceled_orders: number;
}

@Injectable()
export class PlanQueriesUseCase {
  private readonly logger = new Logger('Twap');

  constructor(
    private readonly plans: TwapRepository,
    private readonly cancelOrder: CancelOrderUseCase,
    private readonly audit: AuditRepository,
    private readonly uow: UnitOfWork,
    private readonly clock: Clock,
    private readonly dispatcher: TwapDispatcher,
  ) {}

  async view(parentOrderId: string, principal: Principal): Promise<PlanView> {
    const plan = await this.visible(parentOrderId, principal);
    const slices = (await this.plans.slicesOf([plan.parentOrderId])).get(plan.parentOrderId) ?? [];
    return toPlanView(plan, slices);
  }

  /**
   * Cancels every live plan of a strategy (the dead-man's switch): each as
   * `cancel` does. Answers the plans cancelled; one that fails is logged by
   * the caller's report and does not stop the others.
   */
  async cancelPlansOf(
    strategyId: string,
    principal: Principal,
    ctx: ActorContext,
  ): Promise<{ canceled: string[]; failed: Array<{ parent_order_id: string; error: string }> }> {
    const canceled: string[] = [];
    const failed: Array<{ parent_order_id: string; error: string }> = [];
    for (const id of await this.plans.livePlanIdsOf(strategyId)) {
      try {
        await this.cancel(id, principal, ctx);
        canceled.push(id);
      } catch (err) {
        failed.push({ parent_order_id: id, error: (err as Error).message });
      }
    }
    return { canceled, failed };
  }

  /**
   * Stops the unsent slices and cancels the open children. Idempotent: a
   * second call finds nothing more to stop and answers the same totals. The
   * plan row's lock orders it with a dispatcher pass: a slice this replica
   * claimed ahead and holds until due is not sent (`canceled`); one already
   * due (or held by another replica) is sent, and its order cancelled by the
   * dispatcher once written.
   */
  async cancel(parentOrderId: string, principal: Principal, ctx: ActorContext): Promise<CancelPlanResult> {
    await this.visible(parentOrderId, principal);
    const at = this.clock.now();
    await this.uow.run(async (tx) => {
      const plan = await this.plans.lockPlan(tx, parentOrderId);
      if (!plan) return;
      const stopped = await this.plans.cancelUnsent(tx, parentOrderId);
      if (plan.status !== 'scheduled' && plan.status !== 'active') return;
      await this.plans.setPlanStatus(tx, parentOrderId, 'canceled', { at, shortfallQty: null });
      await this.audit.append(
        {
          action: 'twap.canceled',
          actor: ctx.actor,
          requestId: ctx.requestId,
          clientOrderId: parentOrderId,
          strategyId: plan.strategyId,
          symbol: plan.symbol,
          details: { canceled_slices: stopped.length },
          occurredAt: at,
        },
        tx,
      );
    });
    await this.dispatcher.stopHeld(parentOrderId);
    const slices = (await this.plans.slicesOf([parentOrderId])).get(parentOrderId) ?? [];
    let canceledOrders = 0;
    for (const s of slices) {
      if (!s.child) continue;
      if (s.childStatus === 'canceled' || s.childStatus === 'pending_cancel') {
        canceledOrders += 1;
      } else if (s.child.open) {
        try {
          await this.cancelOrder.execute(s.clientOrderId, principal, ctx);
          canceledOrders += 1;
        } catch (err) {
          this.logger.error({ err, client_order_id: s.clientOrderId, msg: 'cancel of a TWAP child failed' });
        }
      }
    }
    return {
      parent_order_id: parentOrderId,
      canceled_slices: slices.filter((s) => s.state === 'canceled').length,
      canceled_orders: canceledOrders,
    };
  }

  private async visible(parentOrderId: string, principal: Principal): Promise<TwapPlan> {
    const plan = await this.plans.findPlan(parentOrderId);
    if (!plan || !principal.canAccessStrategy(plan.strategyId)) {
      throw new NotFoundError('TWAP_PLAN_NOT_FOUND', `No TWAP plan has the parent_order_id "${parentOrderId}"`);
    }
    return plan;
  }
}
