/** Orders and broker reports for the order-update specs. */
import { BrokerOrder } from '../../src/broker/broker-client.port';
import { Order } from '../../src/trading/order';
import { OrderUpdateReport } from '../../src/orders/domain/order-update.decision';

export const T0 = new Date('2026-03-02T14:30:00Z');
export const NOW = new Date('2026-03-02T15:00:00Z');

export function makeOrder(p: Partial<Order> = {}): Order {
  return {
    clientOrderId: 'c-1',
    strategyId: 'strat',
    symbol: 'AAA',
    side: 'buy',
    qty: '10',
    orderType: 'market',
    limitPrice: null,
    stopPrice: null,
    timeInForce: 'day',
    status: 'new',
    createdAt: T0,
    metadata: {},
    brokerOrderId: 'b-1',
    errorMessage: null,
    retryCount: 0,
    updatedAt: T0,
    submittedAt: T0,
    filledAt: null,
    filledQty: '0',
    filledAvgPrice: null,
    parentOrderId: null,
    sliceNum: null,
    totalSlices: null,
    scheduledTime: null,
    ...p,
  };
}

export function brokerOrder(p: Partial<BrokerOrder> = {}): BrokerOrder {
  return {
    id: 'b-1',
    clientOrderId: 'c-1',
    symbol: 'AAA',
    side: 'buy',
    type: 'market',
    timeInForce: 'day',
    qty: '10',
    limitPrice: null,
    stopPrice: null,
    status: 'new',
    filledQty: '0',
    filledAvgPrice: null,
    createdAt: T0,
    updatedAt: null,
    submittedAt: T0,
    filledAt: null,
    canceledAt: null,
    replacedBy: null,
    replaces: null,
    ...p,
  };
}

export function report(o: Partial<BrokerOrder>, p: Partial<OrderUpdateReport> = {}): OrderUpdateReport {
  return { source: 'stream', order: brokerOrder(o), at: NOW, ...p };
}
