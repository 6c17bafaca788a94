import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';

export interface NewFill {
  executionId: string;
  clientOrderId: string;
  brokerOrderId: string | null;
  strategyId: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: string;
  price: string;
  cumQty: string;
  realizedPl: string;
  source: string;
  executedAt: Date;
}

/** fills: one row per execution; both unique keys make a replayed execution a no-op. */
@Injectable()
export class FillRepository {
  /** Records the fill; false when it was already recorded (same execution id or cumulative step). */
  async insert(manager: EntityManager, f: NewFill): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      `INSERT INTO fills (execution_id, client_order_id, broker_order_id, strategy_id, symbol, side, qty, price,
                          cum_qty, realized_pl, source, executed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        f.executionId,
        f.clientOrderId,
        f.brokerOrderId,
        f.strategyId,
        f.symbol,
        f.side,
        f.qty,
        f.price,
        f.cumQty,
        f.realizedPl,
        f.source,
        f.executedAt,
      ],
    );
    return rows.length === 1;
  }
}
