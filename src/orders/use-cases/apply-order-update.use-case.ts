/**
 * The one door through which broker news changes an order (SPEC §6): the
 * stream, webhooks, polling, reconciliation and the submit path's own answer
 * all call `apply`.
 *
 * Invariants:
 * - idempotent: applying the same report twice changes nothing the second time;
 * - every execution is applied exactly once, whichever channel reports it
 *   first: the order row is locked, cumulative filled_qty decides whether a
 *   report is new, and the fills table's unique keys are the backstop;
 * - status follows the one transition table and never moves backwards;
 * - the order, its fill, the position and the outbox event change in one
 *   transaction; nothing slow runs inside it.
 */
import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AuditRepository } from '../../audit/audit.repository';
import { BrokerOrder } from '../../broker/broker-client.port';
import { OrderEventPublisher } from '../../events/order-event.publisher';
import { OrderEventRepository } from '../../events/persistence/order-event.repository';
import { Clock } from '../../infra/clock/clock';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { applyFillToPosition } from '../../positions/domain/position-math';
import { PositionRepository } from '../../positions/persistence/position.repository';
import { fillIncrement } from '../../trading/fill-progress';
import { OrderStatus } from '../../trading/order-status';
import { fromBrokerStatus, GATEWAY_OUTCOMES, transition } from '../../trading/order-state-machine';
import { FillRepository } from '../persistence/fill.repository';
import { OrderRepository } from '../persistence/order.repository';

export type UpdateSource = 'stream' | 'webhook' | 'poll' | 'reconciliation' | 'submit';

export interface OrderUpdateReport {
  source: UpdateSource;
  /** The order as the broker reports it: status and cumulative fill. */
  order: BrokerOrder;
  at: Date;
  /** The execution this report is about, when the channel names one. */
  execution?: { executionId: string; qty: string; price: string } | null;
}

export interface ApplyOptions {
  onFillRecorded?: (manager: EntityManager, symbol: string) => Promise<void>;
}

export interface ApplyResult {
  outcome: 'applied' | 'unchanged' | 'unknown_order';
  status?: OrderStatus;
  fillsRecorded: number;
}

/** Audit actions for the statuses SPEC §2.6 names. */
const AUDITED: Partial<Record<OrderStatus, string>> = {
  submitted: 'order.submitted',
  submitted_unconfirmed: 'order.submit_unconfirmed',
  accepted: 'order.acknowledged',
  new: 'order.acknowledged',
  partially_filled: 'order.partially_filled',
  filled: 'order.filled',
  canceled: 'order.canceled',
  rejected: 'order.rejected',
  expired: 'order.expired',
  replaced: 'order.replaced',
  failed: 'order.failed',
};

@Injectable()
export class ApplyOrderUpdateUseCase {
  private readonly logger = new Logger('ApplyOrderUpdate');

  constructor(
    private readonly ds: DataSource,
    private readonly orders: OrderRepository,
    private readonly fills: FillRepository,
    private readonly positions: PositionRepository,
    private readonly events: OrderEventRepository,
    private readonly publisher: OrderEventPublisher,
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * The gateway's own word on an order it is sending: `submitted_unconfirmed`
   * after an ambiguous failure, `rejected` on the broker's definitive no,
   * `failed` when it never got there, or `pending_new` again with a retry
   * time after a 429. The same transition table applies, so a status the
   * broker's stream already moved past is not overwritten.
   */
  async recordSubmitOutcome(
    clientOrderId: string,
    status: OrderStatus,
    opts: { errorMessage?: string | null; retryAt?: Date | null; reasonCode?: string } = {},
  ): Promise<ApplyResult> {
    const result = await this.ds.transaction(async (m) => {
      const order = await this.orders.lockForUpdate(m, { clientOrderId });
      if (!order) return { outcome: 'unknown_order' as const, fillsRecorded: 0 };
      const now = this.clock.now();
      const retrying = status === order.status && opts.retryAt !== undefined;
      const next = retrying ? { status, applied: true } : transition(order.status, status);
      if (!next.applied) return { outcome: 'unchanged' as const, status: order.status, fillsRecorded: 0 };
      await this.orders.updateLifecycle(m, clientOrderId, {
        ...order,
        status: next.status,
        errorMessage: opts.errorMessage ?? order.errorMessage,
        retryCount: retrying ? order.retryCount + 1 : order.retryCount,
        updatedAt: now,
      });
      if (opts.retryAt !== undefined) await this.orders.setNextAttempt(m, clientOrderId, opts.retryAt);
      if (next.status !== order.status) {
        await this.events.append(m, {
          clientOrderId,
          strategyId: order.strategyId,
          symbol: order.symbol,
          eventType: 'order.status',
          status: next.status,
          payload: { previous_status: order.status, filled_qty: order.filledQty, source: 'gateway' },
          createdAt: now,
        });
      }
      const action = retrying ? 'order.submit_retry_scheduled' : AUDITED[next.status];
      if (action) {
        await this.audit.append(
          {
            action,
            actor: 'gateway',
            clientOrderId,
            strategyId: order.strategyId,
            symbol: order.symbol,
            reasonCode: opts.reasonCode ?? null,
            details: {
              previous_status: order.status,
              error: opts.errorMessage ?? null,
              retry_at: opts.retryAt?.toISOString() ?? null,
            },
          },
          m,
        );
      }
      return { outcome: 'applied' as const, status: next.status, fillsRecorded: 0, previous: order.status };
    });
    if (result.outcome === 'applied' && result.status !== result.previous) {
      this.metrics.orderStatus(result.status);
      this.publisher.kick();
    }
    return { outcome: result.outcome, status: result.status, fillsRecorded: 0 };
  }

  /**
   * `opts.onFillRecorded` runs inside the transaction right after a fill is
   * recorded (reconciliation rebuilds the symbol's position from its fills in
   * execution order there, for fills recovered late).
   */
  async apply(r: OrderUpdateReport, opts: ApplyOptions = {}): Promise<ApplyResult> {
    const result = await this.ds.transaction(async (m) => {
      const order = await this.orders.lockForUpdate(m, {
        clientOrderId: r.order.clientOrderId,
        brokerOrderId: r.order.id,
      });
      if (!order) return { outcome: 'unknown_order' as const, fillsRecorded: 0 };
      if (GATEWAY_OUTCOMES.has(order.status)) {
        // The broker cannot know an order the gateway never sent: such a report is wrong, not news.
        this.logger.warn(
          `ignoring a ${r.source} report for ${order.clientOrderId}, which was never sent (${order.status})`,
        );
        return { outcome: 'unchanged' as const, status: order.status, fillsRecorded: 0 };
      }
      const now = this.clock.now();

      let filledQty = order.filledQty;
      let filledAvgPrice = order.filledAvgPrice;
      let fillsRecorded = 0;
      const inc = fillIncrement(
        order,
        r.order.filledQty,
        r.order.filledAvgPrice,
        r.execution?.price ?? null,
        r.execution?.qty ?? null,
      );
      if (inc) {
        const position = await this.positions.lockOrCreate(m, order.symbol);
        const change = applyFillToPosition(position, { side: order.side, qty: inc.qty, price: inc.price });
        const executedAt = r.order.filledAt ?? r.at;
        const recorded = await this.fills.insert(m, {
          // Channels without an execution id (polling, webhooks without one) get an id of the cumulative step.
          executionId: r.execution?.executionId ?? `cum:${order.clientOrderId}:${inc.newFilledQty}`,
          clientOrderId: order.clientOrderId,
          brokerOrderId: r.order.id,
          strategyId: order.strategyId,
          symbol: order.symbol,
          side: order.side,
          qty: inc.qty,
          price: inc.price,
          cumQty: inc.newFilledQty,
          realizedPl: change.realizedDelta,
          source: r.source,
          executedAt,
        });
        if (recorded) {
          await this.positions.save(m, order.symbol, change, executedAt, now);
          if (opts.onFillRecorded) await opts.onFillRecorded(m, order.symbol);
          filledQty = inc.newFilledQty;
          filledAvgPrice = inc.newAvgPrice;
          fillsRecorded = 1;
          await this.events.append(m, {
            clientOrderId: order.clientOrderId,
            strategyId: order.strategyId,
            symbol: order.symbol,
            eventType: 'order.fill',
            status: order.status,
            payload: {
              execution_id: r.execution?.executionId ?? null,
              qty: inc.qty,
              price: inc.price,
              filled_qty: inc.newFilledQty,
              filled_avg_price: inc.newAvgPrice,
              position_qty: change.qty,
              source: r.source,
            },
            createdAt: now,
          });
        }
      }

      const reported = fromBrokerStatus(r.order.status);
      if (!reported) this.logger.warn(`unrecognised broker status "${r.order.status}" for ${order.clientOrderId}`);
      const next = reported ? transition(order.status, reported) : { status: order.status, applied: false };
      const status = next.applied ? next.status : order.status;
      const adoptsBrokerId = order.brokerOrderId === null && !!r.order.id;
      if (status === order.status && fillsRecorded === 0 && !adoptsBrokerId) {
        return { outcome: 'unchanged' as const, status, fillsRecorded };
      }

      await this.orders.updateLifecycle(m, order.clientOrderId, {
        status,
        filledQty,
        filledAvgPrice,
        brokerOrderId: order.brokerOrderId ?? r.order.id,
        submittedAt: order.submittedAt ?? r.order.submittedAt ?? (adoptsBrokerId ? now : null),
        filledAt: status === 'filled' ? (order.filledAt ?? r.order.filledAt ?? r.at) : order.filledAt,
        errorMessage: order.errorMessage,
        retryCount: order.retryCount,
        updatedAt: now,
      });
      if (status !== order.status) {
        await this.events.append(m, {
          clientOrderId: order.clientOrderId,
          strategyId: order.strategyId,
          symbol: order.symbol,
          eventType: 'order.status',
          status,
          payload: {
            previous_status: order.status,
            filled_qty: filledQty,
            source: r.source,
          },
          createdAt: now,
        });
        const action = AUDITED[status];
        if (action) {
          await this.audit.append(
            {
              action,
              actor: `broker:${r.source}`,
              clientOrderId: order.clientOrderId,
              strategyId: order.strategyId,
              symbol: order.symbol,
              details: {
                previous_status: order.status,
                broker_order_id: r.order.id,
                filled_qty: filledQty,
                filled_avg_price: filledAvgPrice,
              },
            },
            m,
          );
        }
      }
      return { outcome: 'applied' as const, status, fillsRecorded, previous: order.status };
    });
    if (result.outcome === 'applied' && result.status && result.status !== result.previous) {
      this.metrics.orderStatus(result.status);
    }
    // Events were written with the change: publish them now rather than at the next poll.
    if (result.outcome === 'applied') this.publisher.kick();
    return { outcome: result.outcome, status: result.status, fillsRecorded: result.fillsRecorded };
  }
}
