/** The only way an order leaves the service: whitelisted fields, decimals as strings, qty as a number. */
import { Order } from '../trading/order';
import { OrderDetailDto, OrderLegDto, OrderResponseDto } from './dto/order-response.dto';
import { FillDto, OrderAuditEntryDto } from './dto/order-views.dto';
import { AuditView, FillView } from './persistence/order-history.repository';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toOrderLeg(o: Order): OrderLegDto {
  return {
    client_order_id: o.clientOrderId,
    leg_type: o.legType ?? 'take_profit',
    status: o.status,
    broker_order_id: o.brokerOrderId,
    side: o.side,
    order_type: o.orderType,
    limit_price: o.limitPrice,
    stop_price: o.stopPrice,
    filled_qty: o.filledQty,
    filled_avg_price: o.filledAvgPrice,
  };
}

/** `legs`: an order with legs (bracket, oto, oco) answers its class and its legs as they stand. */
export function toOrderResponse(o: Order, message: string, legs?: Order[]): OrderResponseDto {
  const withLegs = (o.orderClass ?? 'simple') !== 'simple' && !o.legType;
  return {
    client_order_id: o.clientOrderId,
    status: o.status,
    broker_order_id: o.brokerOrderId,
    symbol: o.symbol,
    side: o.side,
    qty: Number(o.qty),
    order_type: o.orderType,
    limit_price: o.limitPrice,
    created_at: o.createdAt.toISOString(),
    replaces: o.replaces ?? null,
    replaced_by: o.replacedBy ?? null,
    message,
    ...(withLegs ? { order_class: o.orderClass, legs: (legs ?? []).map(toOrderLeg) } : {}),
  };
}

export function toOrderDetail(o: Order): OrderDetailDto {
  return {
    client_order_id: o.clientOrderId,
    strategy_id: o.strategyId,
    symbol: o.symbol,
    side: o.side,
    qty: Number(o.qty),
    order_type: o.orderType,
    limit_price: o.limitPrice,
    stop_price: o.stopPrice,
    trail_price: o.trailPrice ?? null,
    trail_percent: o.trailPercent ?? null,
    extended_hours: o.extendedHours ?? false,
    time_in_force: o.timeInForce,
    status: o.status,
    broker_order_id: o.brokerOrderId,
    error_message: o.errorMessage,
    retry_count: o.retryCount,
    created_at: o.createdAt.toISOString(),
    updated_at: o.updatedAt.toISOString(),
    submitted_at: iso(o.submittedAt),
    filled_at: iso(o.filledAt),
    filled_qty: o.filledQty,
    filled_avg_price: o.filledAvgPrice,
    metadata: o.metadata,
    parent_order_id: o.parentOrderId,
    order_class: o.orderClass ?? 'simple',
    leg_type: o.legType ?? null,
    take_profit: o.takeProfitLimitPrice ? { limit_price: o.takeProfitLimitPrice } : null,
    stop_loss: o.stopLossStopPrice
      ? { stop_price: o.stopLossStopPrice, limit_price: o.stopLossLimitPrice ?? null }
      : null,
    slice_num: o.sliceNum,
    total_slices: o.totalSlices,
    scheduled_time: iso(o.scheduledTime),
    replaces: o.replaces ?? null,
    replaced_by: o.replacedBy ?? null,
  };
}

export function toFillDto(f: FillView): FillDto {
  return {
    client_order_id: f.clientOrderId,
    broker_order_id: f.brokerOrderId,
    execution_id: f.executionId,
    strategy_id: f.strategyId,
    symbol: f.symbol,
    side: f.side,
    qty: f.qty,
    price: f.price,
    executed_at: f.executedAt.toISOString(),
  };
}

export function toAuditEntryDto(a: AuditView): OrderAuditEntryDto {
  return {
    id: a.id,
    occurred_at: a.occurredAt.toISOString(),
    action: a.action,
    actor: a.actor,
    reason_code: a.reasonCode,
    request_id: a.requestId,
    details: a.details,
  };
}
