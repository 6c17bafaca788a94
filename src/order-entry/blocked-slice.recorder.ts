import { Inject, Injectable, Logger } from '@nestjs/common';
import { ActorContext } from '../audit/audit-entry';
import { DomainError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { OrderEventPublisher } from '../events/order-event.publisher';
import { OrderEventRepository } from '../events/persistence/order-event.repository';
import { UnitOfWork } from '../infra/database/unit-of-work';
import { GatewayMetrics } from '../infra/metrics/gateway-metrics';
import { OrderRepository } from '../orders/persistence/order.repository';
import { Denial } from '../risk/pipeline/pre-trade-check';
import { NewOrder, Order } from '../trading/order';
import { BlockedStatus } from '../trading/order-status';

type Insert = { order: Order | null; created: boolean };

/** The order-entry door's record of a TWAP slice it refused at a gate (docs/twap.md#dispatch). */
@Injectable()
export class BlockedSliceRecorder {
  private readonly logger = new Logger('OrderEntry');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly orders: OrderRepository,
    private readonly uow: UnitOfWork,
    private readonly metrics: GatewayMetrics,
    private readonly events: OrderEventRepository,
    private readonly publisher: OrderEventPublisher,
  ) {}

  /**
   * A TWAP slice the kill switch, the breaker or its strategy's halt refused: the order row in its
   * `blocked_*` status, its `order.blocked` audit row (with the reason code)
   * and its status event, in one transaction; then the same 503 as any block.
   * When the id is already taken (a slice taken up again), nothing is written
   * and the caller answers with the order that holds it. An order in a
   * `blocked_*` status holds no exposure, so no exposure lock is needed.
   */
  async record(draft: NewOrder, ctx: ActorContext, denial: Denial, status: BlockedStatus): Promise<Insert> {
    const order: NewOrder = { ...draft, status, errorMessage: denial.message };
    const written = await this.uow.run(async (tx) => {
      const res = await this.orders.insertWithAudit(
        order,
        {
          action: 'order.blocked',
          actor: ctx.actor,
          requestId: ctx.requestId,
          reasonCode: denial.code,
          details: {
            status,
            dry_run: this.config.dryRun,
            qty: order.qty,
            side: order.side,
            order_type: order.orderType,
            parent_order_id: order.parentOrderId ?? null,
            slice_num: order.sliceNum ?? null,
            message: denial.message,
            ...denial.details,
          },
        },
        tx,
      );
      if (res.created) {
        await this.events.append(tx, {
          clientOrderId: order.clientOrderId,
          strategyId: order.strategyId,
          symbol: order.symbol,
          eventType: 'order.status',
          status,
          payload: { previous_status: null, filled_qty: '0', source: 'gateway', reason_code: denial.code },
          createdAt: order.createdAt,
        });
      }
      return res;
    });
    if (!written.created) return written;
    this.metrics.orderRejected(denial.code);
    this.metrics.orderStatus(status);
    this.publisher.kick();
    this.logger.warn({ client_order_id: order.clientOrderId, msg: `slice not sent: ${denial.message}` });
    throw new DomainError(denial.status === 503 ? 'unavailable' : 'rejected', denial.code, denial.message, {
      client_order_id: order.clientOrderId,
      status,
      ...denial.details,
    });
  }
}
