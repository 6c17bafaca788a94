/**
 * The gateway's word that the broker accepted an order's replacement
 * (docs/order-lifecycle.md#replacing-an-order): invariant 9 of
 * ./order-update.decision.ts, as a pure function.
 */
import type { AuditEntry } from '../../audit/audit-entry';
import type { Order } from '../../trading/order';
import { GATEWAY_OUTCOMES, transition } from '../../trading/order-state-machine';
import {
  AUDITED_STATUSES,
  OrderEventDraft,
  OrderPatch,
  OrderUpdateDecision,
  unchanged,
  UpdateSource,
} from './order-update.decision';

/**
 * The broker accepted the replacement `replacement` of `order` (its answer to
 * the replace, or a report of the replacement): the order ends `replaced`
 * with `replaced_by`, as the broker's `replaced` report would end it
 * (invariant 9). An order that already ended otherwise (a fill that won the
 * race) keeps its status; `replaced_by` is written once.
 */
export function decideReplaced(
  order: Order,
  replacement: string,
  source: UpdateSource,
  now: Date,
): OrderUpdateDecision {
  if (GATEWAY_OUTCOMES.has(order.status)) return unchanged(order);
  const next = transition(order.status, 'replaced');
  const status = next.applied ? next.status : order.status;
  const learns = status === 'replaced' && !order.replacedBy;
  if (status === order.status && !learns) return unchanged(order);
  const patch: OrderPatch = {
    status,
    filledQty: order.filledQty,
    filledAvgPrice: order.filledAvgPrice,
    brokerOrderId: order.brokerOrderId,
    submittedAt: order.submittedAt,
    filledAt: order.filledAt,
    errorMessage: order.errorMessage,
    retryCount: order.retryCount,
    updatedAt: now,
    ...(learns ? { replacedBy: replacement } : {}),
  };
  const events: OrderEventDraft[] = [];
  const audit: AuditEntry[] = [];
  if (status !== order.status) {
    events.push({
      clientOrderId: order.clientOrderId,
      strategyId: order.strategyId,
      symbol: order.symbol,
      eventType: 'order.status',
      status,
      payload: { previous_status: order.status, filled_qty: order.filledQty, source, replaced_by: replacement },
      createdAt: now,
    });
    audit.push({
      action: AUDITED_STATUSES.replaced!,
      actor: `broker:${source}`,
      clientOrderId: order.clientOrderId,
      strategyId: order.strategyId,
      symbol: order.symbol,
      details: {
        previous_status: order.status,
        broker_order_id: order.brokerOrderId,
        filled_qty: order.filledQty,
        filled_avg_price: order.filledAvgPrice,
        replaced_by: replacement,
      },
    });
  }
  return {
    outcome: 'applied',
    previousStatus: order.status,
    status,
    patch,
    fill: null,
    positionChange: null,
    events,
    audit,
    warnings: [],
  };
}
