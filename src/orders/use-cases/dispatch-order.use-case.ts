/**
 * Sends a written-ahead order to the broker and records what came of it.
 * Used by order submission and by the resolver that finishes orders a crash
 * or a lost answer left behind.
 *
 * Invariants (docs/architecture.md#no-duplicate-broker-order, docs/architecture.md#timeouts-are-not-rejections):
 * - the order row exists before the broker is called, and no transaction is
 *   open during the call;
 * - the same client_order_id is always sent, so the broker itself refuses a
 *   second order: a duplicate answer means an earlier attempt landed, and the
 *   order is adopted by looking it up;
 * - a timeout, 5xx or lost connection is `submitted_unconfirmed`, never
 *   `rejected`; only the broker's definitive word rejects;
 * - immediately before an unsent order is sent, the kill switch, the
 *   circuit breaker and the order's strategy state are read again
 *   (../domain/dispatch-safety.decision.ts): an order one of them would now
 *   refuse is not sent, it ends `blocked_kill_switch` /
 *   `blocked_circuit_breaker` / `canceled` (strategy halted or reducing),
 *   audited. Every path that sends (submission, the resolver of unsent
 *   orders) comes through here.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  BROKER_CLIENT,
  BrokerClient,
  BrokerError,
  BrokerOrder,
  BrokerOrderRequest,
} from '../../broker/broker-client.port';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { KillSwitchService } from '../../risk/kill-switch/kill-switch.service';
import { isReduceOnly } from '../../risk/pipeline/pre-trade-checks';
import { CircuitBreakerSource, StrategyStateGate } from '../../risk/pipeline/pre-trade-sources';
import { Order } from '../../trading/order';
import { isTerminal } from '../../trading/order-state-machine';
import {
  breakerMayBlock,
  decideDispatchSafety,
  DispatchBlock,
  strategyMayBlock,
} from '../domain/dispatch-safety.decision';
import { OrderUpdateQueue } from '../jobs/order-update-queue';
import { ExposureRepository } from '../persistence/exposure.repository';
import { OrderRepository } from '../persistence/order.repository';
import { ApplyOrderUpdateUseCase } from './apply-order-update.use-case';

export type DispatchOutcome = 'acknowledged' | 'rejected' | 'unconfirmed' | 'retry_scheduled' | 'failed' | 'blocked';

export interface DispatchResult {
  outcome: DispatchOutcome;
  order: Order;
  error?: BrokerError;
  /** Set when the safety re-check kept the order from being sent. */
  block?: DispatchBlock;
}

/** An order with legs is one broker order carrying them (an OCO's take-profit is the order's own limit). */
function brokerLegsOf(order: Order): Pick<BrokerOrderRequest, 'orderClass' | 'takeProfit' | 'stopLoss'> {
  const orderClass = order.orderClass ?? 'simple';
  if (orderClass === 'simple') return {};
  return {
    orderClass,
    takeProfit: order.takeProfitLimitPrice ? { limitPrice: order.takeProfitLimitPrice } : null,
    stopLoss: order.stopLossStopPrice
      ? { stopPrice: order.stopLossStopPrice, limitPrice: order.stopLossLimitPrice ?? null }
      : null,
  };
}

@Injectable()
export class DispatchOrderUseCase {
  private readonly logger = new Logger('DispatchOrder');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly orders: OrderRepository,
    private readonly updates: ApplyOrderUpdateUseCase,
    private readonly clock: Clock,
    private readonly metrics: GatewayMetrics,
    private readonly killSwitch: KillSwitchService,
    private readonly breaker: CircuitBreakerSource,
    private readonly exposure: ExposureRepository,
    private readonly strategies: StrategyStateGate,
    private readonly queue: OrderUpdateQueue,
  ) {}

  async dispatch(order: Order): Promise<DispatchResult> {
    const block = await this.safetyRecheck(order);
    if (block) {
      await this.updates.recordSubmitOutcome(order.clientOrderId, block.status, {
        errorMessage: block.denial.message,
        reasonCode: block.denial.code,
      });
      const current = (await this.orders.findByClientOrderId(order.clientOrderId)) ?? order;
      this.logger.warn({ client_order_id: order.clientOrderId, msg: `not sent: ${block.denial.message}` });
      // When the order moved on meanwhile (a cancel before it was sent), its status stands; nothing is sent either way.
      return { outcome: 'blocked', order: current, ...(current.status === block.status ? { block } : {}) };
    }
    const { seen, ...outcome } = await this.send(order);
    // The order as read after the broker's answer was applied, unless a cancel followed: then read again.
    const current = seen ?? (await this.orders.findByClientOrderId(order.clientOrderId)) ?? order;
    return { ...outcome, order: current };
  }

  /**
   * The kill switch, the breaker and the strategy's state, read again right
   * before the broker call. Whether the order is reduce-only is read only when
   * the breaker or the strategy state would block (the order itself is among
   * the open orders counted, the resting exit legs on its side too); a failed
   * read counts as not reduce-only (fail closed).
   */
  private async safetyRecheck(order: Order): Promise<DispatchBlock | null> {
    if (order.status !== 'pending_new') return null;
    // A replace that only takes risk off passed the door without the checks (a partial cancel, in effect).
    if (order.replaces && (order.metadata.replace as { risk_reducing?: unknown } | undefined)?.risk_reducing === true) {
      return null;
    }
    const breaker = this.breaker.current();
    const strategy = this.strategies.current(order.strategyId);
    let reduceOnly = false;
    if (breakerMayBlock(breaker) || strategyMayBlock(order.strategyId, strategy)) {
      reduceOnly = await this.exposure
        .read(order.symbol, order.strategyId)
        .then((exposure) => this.exposure.forReduceOnly({ symbol: order.symbol, side: order.side, qty: '0' }, exposure))
        .then((exposure) => isReduceOnly({ side: order.side, qty: '0' }, exposure))
        .catch(() => false);
    }
    return decideDispatchSafety(
      { status: order.status, strategyId: order.strategyId, reduceOnly },
      this.killSwitch.current(),
      breaker,
      strategy,
    );
  }

  /** Looks the order up by client_order_id and adopts what the broker has; null when it has nothing. */
  async adoptFromBroker(clientOrderId: string, source: 'submit' | 'reconciliation'): Promise<BrokerOrder | null> {
    const found = await this.timed('get_order_by_client_id', () => this.broker.getOrderByClientOrderId(clientOrderId));
    if (found) {
      await this.updates.apply({ source, order: found, at: this.clock.now() });
      await this.honourCancelRequest(clientOrderId, found.id);
    }
    return found;
  }

  /**
   * A cancel asked for while the order was being sent (or resolved) is carried
   * out as soon as the broker's id is known. Best effort: a failure is logged
   * and the broker's updates tell the rest.
   */
  private async honourCancelRequest(
    clientOrderId: string,
    brokerOrderId: string,
    known?: Order,
  ): Promise<Order | null> {
    const current = known ?? (await this.orders.findByClientOrderId(clientOrderId));
    if (!current?.metadata.cancel_requested_at || isTerminal(current.status) || current.status === 'pending_cancel') {
      return current;
    }
    try {
      await this.timed('cancel_order', () => this.broker.cancelOrder(brokerOrderId));
      await this.updates.recordSubmitOutcome(clientOrderId, 'pending_cancel');
    } catch (err) {
      this.logger.warn({ client_order_id: clientOrderId, err, msg: 'cancel of a just-sent order failed' });
    }
    return null;
  }

  /** `seen`: the order as read once the broker's acknowledgement was applied (none when something changed it after). */
  private async send(order: Order): Promise<{ outcome: DispatchOutcome; error?: BrokerError; seen?: Order | null }> {
    const id = order.clientOrderId;
    try {
      const ack = await this.timed(order.replaces ? 'replace_order' : 'submit_order', () =>
        order.replaces
          ? this.replaceAtBroker(order, order.replaces)
          : this.broker.submitOrder(
              {
                clientOrderId: id,
                symbol: order.symbol,
                side: order.side,
                qty: order.qty,
                type: order.orderType,
                timeInForce: order.timeInForce,
                limitPrice: order.limitPrice,
                stopPrice: order.stopPrice,
                trailPrice: order.trailPrice ?? null,
                trailPercent: order.trailPercent ?? null,
                extendedHours: order.extendedHours ?? false,
                ...brokerLegsOf(order),
              },
              { timeoutMs: this.config.broker.submitTimeoutMs },
            ),
      );
      // Applied with the other news of its symbol (one unit of work for all of them): the order as it left it
      // shows a cancel asked for meanwhile, which locks the same row.
      const applied = await this.queue.apply({ source: 'submit', order: ack, at: this.clock.now() });
      const seen = await this.honourCancelRequest(id, ack.id, applied.order);
      return { outcome: 'acknowledged', seen };
    } catch (err) {
      const e =
        err instanceof BrokerError
          ? err
          : new BrokerError('unknown_outcome', `broker call failed: ${(err as Error)?.message ?? String(err)}`, {
              cause: err,
            });
      this.logger.warn({ client_order_id: id, kind: e.kind, msg: `submit failed: ${e.message}` });
      if (e.kind === 'rejected' && e.details.duplicateClientOrderId) {
        // An earlier attempt with this id landed: adopt it, never send another.
        const found = await this.adoptFromBroker(id, 'submit').catch(() => null);
        if (found) return { outcome: 'acknowledged' };
        await this.updates.recordSubmitOutcome(id, 'submitted_unconfirmed', { errorMessage: e.message });
        return { outcome: 'unconfirmed', error: e };
      }
      if (e.kind === 'rejected' && order.replaces) {
        // The broker refused the replace: the old order's state is the broker's (it may have filled
        // meanwhile). The replacement is rejected only when the broker did not take it after all.
        if (await this.adoptRefusedReplacement(order, order.replaces).catch(() => false)) {
          return { outcome: 'acknowledged' };
        }
        await this.updates.recordSubmitOutcome(id, 'rejected', {
          errorMessage: e.message,
          reasonCode: 'REPLACE_REJECTED',
        });
        return { outcome: 'rejected', error: e };
      }
      if ((e.kind === 'rejected' || e.kind === 'not_found') && order.replaces) {
        await this.updates.recordSubmitOutcome(id, 'rejected', {
          errorMessage: e.message,
          reasonCode: 'REPLACE_REJECTED',
        });
        return { outcome: 'rejected', error: e };
      }
      if (e.kind === 'rejected') {
        await this.updates.recordSubmitOutcome(id, 'rejected', {
          errorMessage: e.message,
          reasonCode: 'BROKER_REJECTED',
        });
        return { outcome: 'rejected', error: e };
      }
      if (e.kind === 'retryable') {
        const retryAt = new Date(this.clock.now().getTime() + (e.details.retryAfterMs ?? 1_000));
        await this.updates.recordSubmitOutcome(id, 'pending_new', { errorMessage: e.message, retryAt });
        return { outcome: 'retry_scheduled', error: e };
      }
      if (e.kind === 'auth' && order.status === 'pending_new') {
        // Credentials refused: the broker did not act on the request.
        await this.updates.recordSubmitOutcome(id, 'failed', { errorMessage: e.message, reasonCode: 'BROKER_AUTH' });
        return { outcome: 'failed', error: e };
      }
      await this.updates.recordSubmitOutcome(id, 'submitted_unconfirmed', { errorMessage: e.message });
      return { outcome: 'unconfirmed', error: e };
    }
  }

  /**
   * A replacement is sent as a replace of its old order at the broker (never
   * as a new order: that would leave the old one working beside it), with the
   * replacement's client_order_id, so a lost answer is resolved by looking the
   * replacement up like any submission. The broker's answer is the new order;
   * the old one then ends `replaced`.
   */
  private async replaceAtBroker(order: Order, oldId: string): Promise<BrokerOrder> {
    const old = await this.orders.findByClientOrderId(oldId);
    if (!old?.brokerOrderId) {
      throw new BrokerError('rejected', `the order it replaces (${oldId}) is not known at the broker`);
    }
    const ack = await this.broker.replaceOrder(old.brokerOrderId, {
      qty: order.qty,
      ...(order.limitPrice !== null && order.limitPrice !== old.limitPrice ? { limitPrice: order.limitPrice } : {}),
      ...(order.stopPrice !== null && order.stopPrice !== old.stopPrice ? { stopPrice: order.stopPrice } : {}),
      ...(order.trailPrice != null && order.trailPrice !== old.trailPrice ? { trail: order.trailPrice } : {}),
      ...(order.trailPercent != null && order.trailPercent !== old.trailPercent ? { trail: order.trailPercent } : {}),
      ...(order.timeInForce !== old.timeInForce ? { timeInForce: order.timeInForce } : {}),
      clientOrderId: order.clientOrderId,
    });
    await this.updates.recordReplaced(oldId, order.clientOrderId, 'submit');
    return ack;
  }

  /**
   * After the broker refused a replace: the old order's report is applied (a
   * fill that won the race ends it). When the broker reports it replaced by
   * this very replacement (an earlier attempt landed and its answer was lost),
   * the replacement is adopted instead of rejected.
   */
  private async adoptRefusedReplacement(order: Order, oldId: string): Promise<boolean> {
    const old = await this.orders.findByClientOrderId(oldId);
    if (!old?.brokerOrderId) return false;
    const report = await this.timed('get_order', () => this.broker.getOrder(old.brokerOrderId!));
    if (!report) return false;
    await this.updates.apply({ source: 'submit', order: report, at: this.clock.now() });
    if (report.status !== 'replaced' || !report.replacedBy) return false;
    const replacement = await this.timed('get_order', () => this.broker.getOrder(report.replacedBy!));
    if (replacement?.clientOrderId !== order.clientOrderId) return false;
    await this.updates.apply({ source: 'submit', order: replacement, at: this.clock.now() });
    return true;
  }

  private async timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const start = process.hrtime.bigint();
    let outcome = 'ok';
    try {
      return await call();
    } catch (err) {
      outcome = err instanceof BrokerError ? err.kind : 'error';
      throw err;
    } finally {
      this.metrics.brokerCall(operation, outcome, Number(process.hrtime.bigint() - start) / 1e9);
    }
  }
}
