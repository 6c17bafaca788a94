/**
 * Submitting an order (SPEC §6).
 *
 * Invariants:
 * - the order row and its audit row are written in one statement before any
 *   broker call (write-ahead);
 * - one client_order_id is one order: concurrent duplicates resolve on the
 *   primary key and every caller gets the same order back;
 * - DRY_RUN never reaches a broker: the order is recorded as `dry_run`;
 * - otherwise the order is written `pending_new` first, then dispatched; an
 *   ambiguous broker answer is a 202 with the order still resolving.
 */
import { Inject, Injectable } from '@nestjs/common';
import { ActorContext } from '../../audit/audit-entry';
import { Principal } from '../../auth/permission';
import { ConflictError, DomainError, ForbiddenError } from '../../common/domain-error';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { PreTradePipeline } from '../../risk/pipeline/pre-trade-pipeline.service';
import { buildNewOrder, differingTerms, NewOrder, Order, SubmitOrderCommand } from '../../trading/order';
import { OrderRepository } from '../persistence/order.repository';
import { DispatchOrderUseCase, DispatchOutcome } from './dispatch-order.use-case';

export interface SubmitOrderResult {
  order: Order;
  /** True when this call created the order; false when it already existed. */
  created: boolean;
  /** True when the broker's answer is not known yet (202): follow the order by id or events. */
  pending: boolean;
  message: string;
}

const DISPATCH_MESSAGES: Record<DispatchOutcome, string> = {
  acknowledged: 'Order submitted to the broker',
  rejected: 'Order rejected by the broker',
  unconfirmed: 'Broker outcome unknown (timeout or broker error); resolving by client_order_id',
  retry_scheduled: 'Broker rate-limited the submission; it will be sent again with the same client_order_id',
  failed: 'Order could not be sent: the broker refused the credentials',
};

@Injectable()
export class SubmitOrderUseCase {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly orders: OrderRepository,
    private readonly dispatcher: DispatchOrderUseCase,
    private readonly clock: Clock,
    private readonly metrics: GatewayMetrics,
    private readonly pipeline: PreTradePipeline,
  ) {}

  async execute(cmd: SubmitOrderCommand, principal: Principal, ctx: ActorContext): Promise<SubmitOrderResult> {
    const dryRun = this.config.dryRun;
    const draft = buildNewOrder(
      cmd,
      { strategyId: this.config.strategyId, status: dryRun ? 'dry_run' : 'pending_new' },
      this.clock.now(),
    );
    if (!principal.canAccessStrategy(draft.strategyId)) {
      this.metrics.orderRejected('STRATEGY_FORBIDDEN');
      throw new ForbiddenError(
        'STRATEGY_FORBIDDEN',
        `This API key may not submit orders for strategy "${draft.strategyId}"`,
      );
    }
    // Pre-trade pipeline (SPEC §6 step 4): the checks, then the insert while the exposure they
    // saw cannot change. A refusal writes no order row. Cancels do not come through here.
    const { order, created } = await this.pipeline.admit(
      draft,
      ctx,
      (tx) =>
        this.orders.insertWithAudit(
          draft,
          {
            action: 'order.accepted',
            actor: ctx.actor,
            requestId: ctx.requestId,
            details: {
              status: draft.status,
              dry_run: dryRun,
              qty: draft.qty,
              side: draft.side,
              order_type: draft.orderType,
            },
          },
          tx,
        ),
      () => this.isReplay(draft, principal),
    );
    if (created && order) {
      this.metrics.orderStatus(order.status);
      if (dryRun) return { order, created: true, pending: false, message: 'Order logged (DRY_RUN mode)' };
      // Written ahead; now (outside any transaction) the broker.
      const sent = await this.dispatcher.dispatch(order);
      const message = sent.error
        ? `${DISPATCH_MESSAGES[sent.outcome]}: ${sent.error.message}`
        : DISPATCH_MESSAGES[sent.outcome];
      if (sent.outcome === 'failed') {
        throw new DomainError('unavailable', 'BROKER_UNAVAILABLE', message, {
          client_order_id: order.clientOrderId,
          status: sent.order.status,
        });
      }
      const pending = sent.outcome === 'unconfirmed' || sent.outcome === 'retry_scheduled';
      return { order: sent.order, created: true, pending, message };
    }

    const existing = await this.orders.findByClientOrderId(draft.clientOrderId);
    if (!existing) {
      // Only possible if the row vanished between the two statements; orders are never deleted.
      throw new Error(`order ${draft.clientOrderId} conflicted on insert but cannot be read`);
    }
    if (!principal.canAccessStrategy(existing.strategyId)) {
      throw new ConflictError('CLIENT_ORDER_ID_CONFLICT', 'client_order_id is already in use');
    }
    const differs = differingTerms(existing, draft);
    if (differs.length) {
      this.metrics.orderRejected('CLIENT_ORDER_ID_CONFLICT');
      throw new ConflictError(
        'CLIENT_ORDER_ID_CONFLICT',
        `client_order_id ${draft.clientOrderId} already names an order with different ${differs.join(', ')}; ` +
          'send an idempotency_key or your own client_order_id to place a second order',
        { client_order_id: draft.clientOrderId, differing_fields: differs },
      );
    }
    return { order: existing, created: false, pending: false, message: 'Order already exists (idempotent replay)' };
  }

  /** The same order (same id, same terms, visible to this key) already exists. */
  private async isReplay(draft: NewOrder, principal: Principal): Promise<boolean> {
    const existing = await this.orders.findByClientOrderId(draft.clientOrderId);
    return (
      !!existing && principal.canAccessStrategy(existing.strategyId) && differingTerms(existing, draft).length === 0
    );
  }
}
