/** An order row as PostgreSQL returns it, the columns it is read from, and the Order it maps to. */
import { Order } from '../../trading/order';
import { LegType, OrderClass } from '../../trading/order-class';
import { OrderSide, OrderStatus, OrderType, TimeInForce } from '../../trading/order-status';

export interface OrderRow {
  seq: string;
  client_order_id: string;
  strategy_id: string;
  symbol: string;
  side: OrderSide;
  qty: string;
  order_type: OrderType;
  limit_price: string | null;
  stop_price: string | null;
  trail_price: string | null;
  trail_percent: string | null;
  extended_hours: boolean;
  time_in_force: TimeInForce;
  status: OrderStatus;
  broker_order_id: string | null;
  error_message: string | null;
  retry_count: number;
  created_at: Date;
  updated_at: Date;
  submitted_at: Date | null;
  filled_at: Date | null;
  filled_qty: string;
  filled_avg_price: string | null;
  metadata: Record<string, unknown>;
  parent_order_id: string | null;
  slice_num: number | null;
  total_slices: number | null;
  scheduled_time: Date | null;
  replaces: string | null;
  replaced_by: string | null;
  order_class: OrderClass;
  leg_type: LegType | null;
  take_profit_limit_price: string | null;
  stop_loss_stop_price: string | null;
  stop_loss_limit_price: string | null;
}

/** Every column an Order is read from, listed so statements keep their shape across migrations. */
export const COLUMNS = `seq, client_order_id, strategy_id, symbol, side, qty, order_type, limit_price, stop_price,
  time_in_force, status, broker_order_id, error_message, retry_count, created_at, updated_at, submitted_at,
  filled_at, filled_qty, filled_avg_price, metadata, parent_order_id, slice_num, total_slices, scheduled_time,
  trail_price, trail_percent, extended_hours, replaces, replaced_by, order_class, leg_type, take_profit_limit_price,
  stop_loss_stop_price, stop_loss_limit_price`;

export function toOrder(r: OrderRow): Order {
  return {
    clientOrderId: r.client_order_id,
    strategyId: r.strategy_id,
    symbol: r.symbol,
    side: r.side,
    qty: r.qty,
    orderType: r.order_type,
    limitPrice: r.limit_price,
    stopPrice: r.stop_price,
    trailPrice: r.trail_price,
    trailPercent: r.trail_percent,
    extendedHours: r.extended_hours,
    timeInForce: r.time_in_force,
    status: r.status,
    brokerOrderId: r.broker_order_id,
    errorMessage: r.error_message,
    retryCount: r.retry_count,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    submittedAt: r.submitted_at,
    filledAt: r.filled_at,
    filledQty: r.filled_qty,
    filledAvgPrice: r.filled_avg_price,
    metadata: r.metadata,
    parentOrderId: r.parent_order_id,
    sliceNum: r.slice_num,
    totalSlices: r.total_slices,
    scheduledTime: r.scheduled_time,
    replaces: r.replaces,
    replacedBy: r.replaced_by,
    orderClass: r.order_class,
    legType: r.leg_type,
    takeProfitLimitPrice: r.take_profit_limit_price,
    stopLossStopPrice: r.stop_loss_stop_price,
    stopLossLimitPrice: r.stop_loss_limit_price,
  };
}
