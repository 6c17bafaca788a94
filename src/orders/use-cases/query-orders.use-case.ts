import { Injectable } from '@nestjs/common';
import { Principal } from '../../auth/permission';
import { InputValidationError, NotFoundError } from '../../common/domain-error';
import { Order } from '../../trading/order';
import { OrderStatus } from '../../trading/order-status';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { AuditView, FillView, OrderHistoryRepository } from '../persistence/order-history.repository';
import { OrderRepository } from '../persistence/order.repository';

export interface ListOrdersQuery {
  statuses?: OrderStatus[];
  symbol?: string;
  strategyId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  limit: number;
  cursor?: string;
}

/** Reading orders, always within the caller's strategy scope. */
@Injectable()
export class QueryOrdersUseCase {
  constructor(
    private readonly orders: OrderRepository,
    private readonly history: OrderHistoryRepository,
  ) {}

  /** The order and its fills (execution order); 404 as `get`. */
  /** The order, its fills and, for an order with legs (bracket, oto, oco), its legs. */
  async getWithFills(
    clientOrderId: string,
    principal: Principal,
  ): Promise<{ order: Order; fills: FillView[]; legs: Order[] | null }> {
    const order = await this.get(clientOrderId, principal);
    const hasLegs = (order.orderClass ?? 'simple') !== 'simple' && !order.legType;
    const [fills, legs] = await Promise.all([
      this.history.fillsOf(order.clientOrderId),
      hasLegs ? this.orders.findLegs(order.clientOrderId) : Promise.resolve(null),
    ]);
    return { order, fills, legs };
  }

  /** The order's audit rows, oldest first; 404 as `get`. */
  async audit(clientOrderId: string, principal: Principal): Promise<AuditView[]> {
    const order = await this.get(clientOrderId, principal);
    return this.history.auditOf(order.clientOrderId);
  }

  /** Every order not yet ended, oldest first, within the key's scope. */
  async pending(
    f: { symbol?: string; strategyId?: string; parentOrderId?: string },
    principal: Principal,
  ): Promise<Order[]> {
    return this.orders.listOpen({ ...f, statuses: [...OPEN_STATUSES], strategyScope: principal.strategyScope });
  }

  /** The newest fills within the key's scope. */
  async recentFills(
    f: { symbol?: string; strategyId?: string; limit: number },
    principal: Principal,
  ): Promise<{ fills: FillView[]; total: number }> {
    return this.history.recentFills({ ...f, strategyScope: principal.strategyScope });
  }

  /** A key outside the order's strategy gets the same 404 as for an unknown id. */
  async get(clientOrderId: string, principal: Principal): Promise<Order> {
    const order = await this.orders.findByClientOrderId(clientOrderId);
    if (!order || !principal.canAccessStrategy(order.strategyId)) {
      throw new NotFoundError('ORDER_NOT_FOUND', `No order with client_order_id ${clientOrderId}`);
    }
    return order;
  }

  async list(q: ListOrdersQuery, principal: Principal): Promise<{ orders: Order[]; nextCursor: string | null }> {
    const page = await this.orders.list({
      statuses: q.statuses,
      symbol: q.symbol,
      strategyId: q.strategyId,
      strategyScope: principal.strategyScope,
      createdAfter: q.createdAfter,
      createdBefore: q.createdBefore,
      beforeSeq: q.cursor === undefined ? undefined : decodeCursor(q.cursor),
      limit: q.limit,
    });
    return { orders: page.orders, nextCursor: page.lastSeq === null ? null : encodeCursor(page.lastSeq) };
  }
}

const MAX_BIGINT = 9223372036854775807n;

/** Cursors are opaque to clients: base64url of the last row's sequence number. */
export function encodeCursor(seq: string): string {
  return Buffer.from(`s:${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  const m = /^s:(\d{1,19})$/.exec(raw);
  if (!m || BigInt(m[1]) > MAX_BIGINT) throw InputValidationError.field('cursor', 'is not a valid cursor');
  return m[1];
}
