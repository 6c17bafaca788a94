import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

export interface NewOrderEvent {
  clientOrderId: string;
  strategyId: string;
  symbol: string;
  /** `order.status` or `order.fill`. */
  eventType: string;
  status: string;
  payload: Record<string, unknown>;
  createdAt: Date;
}

/** The outbox: events are written with the state change that caused them, published later. */
@Injectable()
export class OrderEventRepository {
  async append(manager: EntityManager, e: NewOrderEvent): Promise<void> {
    await manager.query(
      `INSERT INTO order_events (client_order_id, strategy_id, symbol, event_type, status, payload, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [e.clientOrderId, e.strategyId, e.symbol, e.eventType, e.status, JSON.stringify(e.payload), e.createdAt],
    );
  }
}
