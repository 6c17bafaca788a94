/**
 * Cancelling an order (docs/order-lifecycle.md#cancels): at the broker when it has the order, locally
 * when it never got it; idempotent; never refused for safety reasons.
 *
 * Invariants:
 * - a cancel is a request: the final `canceled` (or a fill that wins the race)
 *   arrives as a broker update through applyOrderUpdate;
 * - the request is recorded on the order first (metadata.cancel_requested_at,
 *   audited), so a send that is in flight, or a later resend, cancels at once
 *   instead of leaving a live order behind a local `canceled`;
 * - an order whose outcome is unknown is never cancelled locally: it may exist
 *   at the broker. It is looked up, and cancelled there once found;
 * - an order still queued for the broker budget (docs/broker-pacing.md) is
 *   cancelled locally without asking the broker: recording the request takes
 *   it out of the queue, so it is never sent;
 * - an unsent order that may be in a sender's hands (the request that wrote
 *   it, or the resolver that claimed it: ../domain/send-window.ts) is never
 *   cancelled locally either: its send may land after the broker was asked.
 *   The sender sees the request and cancels at the broker once it has the
 *   order. Only an unsent order in nobody's hands is cancelled locally, and
 *   the resolver's claim refuses it from then on;
 * - the cancel's broker calls (lookups included) are served before queued
 *   submissions and reads.
 */
import { Inject, Injectable } from '@nestjs/common';
import { ActorContext } from '../../audit/audit-entry';
import { AuditRepository } from '../../audit/audit.repository';
import { Principal } from '../../auth/permission';
import { BROKER_CLIENT, BrokerClient, BrokerError } from '../../broker/broker-client.port';
import { BrokerPacer } from '../../broker/pacing/broker-pacer';
import { ConflictError } from '../../common/domain-error';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { UnitOfWork } from '../../infra/database/unit-of-work';
import { Order } from '../../trading/order';
import { isTerminal } from '../../trading/order-state-machine';
import { sendQuietSince } from '../domain/send-window';
import { OrderSendRepository } from '../persistence/order-send.repository';
import { OrderRepository } from '../persistence/order.repository';
import { ApplyOrderUpdateUseCase } from './apply-order-update.use-case';
import { DispatchOrderUseCase } from './dispatch-order.use-case';
import { QueryOrdersUseCase } from './query-orders.use-case';

export interface CancelResult {
  order: Order;
  /** True when the broker's answer to the cancel is not known yet (202). */
  pending: boolean;
  message: string;
}

@Injectable()
export class CancelOrderUseCase {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly orders: OrderRepository,
    private readonly sends: OrderSendRepository,
    private readonly queryOrders: QueryOrdersUseCase,
    private readonly dispatcher: DispatchOrderUseCase,
    private readonly updates: ApplyOrderUpdateUseCase,
    private readonly clock: Clock,
    private readonly uow: UnitOfWork,
    private readonly audit: AuditRepository,
    private readonly pacer: BrokerPacer,
  ) {}

  execute(clientOrderId: string, principal: Principal, ctx: ActorContext): Promise<CancelResult> {
    return this.pacer.as('cancel', () => this.cancel(clientOrderId, principal, ctx));
  }

  private async cancel(clientOrderId: string, principal: Principal, ctx: ActorContext): Promise<CancelResult> {
    let order = await this.queryOrders.get(clientOrderId, principal);
    if (isTerminal(order.status)) {
      return { order, pending: false, message: `Order is already ${order.status}; nothing to cancel` };
    }
    const at = this.clock.now();
    let queued = false;
    let sending = false;
    await this.uow.run(async (tx) => {
      const quietSince = sendQuietSince(at, this.config.broker.submitTimeoutMs);
      const marked = await this.sends.markCancelRequested(tx, clientOrderId, at, quietSince);
      if (!marked) return;
      queued = marked.queued;
      sending = marked.sending;
      await this.audit.append(
        {
          action: 'order.cancel_requested',
          actor: ctx.actor,
          clientOrderId,
          strategyId: marked.strategyId,
          symbol: marked.symbol,
          requestId: ctx.requestId,
          details: { status: order.status },
          occurredAt: at,
        },
        tx,
      );
    });

    if (queued) {
      // Queued for the broker budget and never sent: the request above took it out of the queue.
      await this.updates.recordSubmitOutcome(clientOrderId, 'canceled', { reasonCode: 'CANCELED_BEFORE_SEND' });
      return { order: await this.reread(clientOrderId), pending: false, message: 'Order canceled before it was sent' };
    }
    let brokerOrderId = order.brokerOrderId;
    if (!brokerOrderId) {
      // Not acknowledged yet: does the broker have it?
      const found = await this.dispatcher.adoptFromBroker(clientOrderId, 'submit').catch(() => undefined);
      if (found) brokerOrderId = found.id;
      else if (found === null && order.status === 'pending_new' && !sending) {
        // Never reached the broker, and nobody is sending it (the resolver's claim now refuses it): cancelled here.
        await this.updates.recordSubmitOutcome(clientOrderId, 'canceled', { reasonCode: 'CANCELED_BEFORE_SEND' });
        return {
          order: await this.reread(clientOrderId),
          pending: false,
          message: 'Order canceled before it was sent',
        };
      } else {
        return {
          order: await this.reread(clientOrderId),
          pending: true,
          message: sending
            ? 'Cancel recorded; the order is being sent and will be canceled at the broker as soon as the broker has it'
            : 'Cancel recorded; the order is still being resolved with the broker and will be canceled there once found',
        };
      }
    }

    try {
      await this.broker.cancelOrder(brokerOrderId);
    } catch (err) {
      const e = err instanceof BrokerError ? err : new BrokerError('unknown_outcome', String(err), { cause: err });
      if (e.kind === 'rejected' || e.kind === 'not_found') {
        // Too late, most likely: the order ended at the broker. Take its word for the status.
        const report = await this.broker.getOrder(brokerOrderId).catch(() => null);
        if (report) await this.updates.apply({ source: 'submit', order: report, at: this.clock.now() });
        order = await this.reread(clientOrderId);
        if (isTerminal(order.status)) {
          return { order, pending: false, message: `Order is already ${order.status}; nothing to cancel` };
        }
        throw new ConflictError('ORDER_NOT_CANCELABLE', `The broker refused the cancel: ${e.message}`, {
          client_order_id: clientOrderId,
          status: order.status,
        });
      }
      return {
        order: await this.reread(clientOrderId),
        pending: true,
        message: `Cancel sent but its outcome is unknown (${e.message}); sending it again is safe`,
      };
    }
    await this.updates.recordSubmitOutcome(clientOrderId, 'pending_cancel');
    return { order: await this.reread(clientOrderId), pending: false, message: 'Cancel requested at the broker' };
  }

  private async reread(clientOrderId: string): Promise<Order> {
    return (await this.orders.findByClientOrderId(clientOrderId))!;
  }
}
