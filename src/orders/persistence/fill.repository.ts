import { Injectable } from '@nestjs/common';
import { sql, Statement, Tx } from '../../infra/database/unit-of-work';
import { FillRecord } from '../domain/order-update.decision';

export type NewFill = FillRecord;

/** A recorded fill, as a symbol's position is rebuilt from it. */
export interface StoredFill {
  id: string;
  side: 'buy' | 'sell';
  qty: string;
  price: string;
  executedAt: Date;
  realizedPl: string;
}

/** fills: one row per execution; both unique keys make a replayed execution a no-op. */
@Injectable()
export class FillRepository {
  /** Records the fill; false when it was already recorded (same execution id or cumulative step). */
  async insert(tx: Tx, f: NewFill): Promise<boolean> {
    const rows = await sql(
      tx,
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

  /** The symbol's fills in execution order (ties in recording order). */
  async listForSymbol(tx: Tx, symbol: string): Promise<StoredFill[]> {
    const rows = await sql<{
      id: string;
      side: 'buy' | 'sell';
      qty: string;
      price: string;
      executed_at: Date;
      realized_pl: string;
    }>(
      tx,
      `SELECT id, side, qty, price, executed_at, realized_pl FROM fills WHERE symbol = $1 ORDER BY executed_at, id`,
      [symbol],
    );
    return rows.map((r) => ({
      id: String(r.id),
      side: r.side,
      qty: r.qty,
      price: r.price,
      executedAt: r.executed_at,
      realizedPl: r.realized_pl,
    }));
  }

  /** Rewrites the realized P&L of recorded fills (after a rebuild of their symbol's position). */
  async setRealizedPl(tx: Tx, changes: ReadonlyArray<{ id: string; realizedPl: string }>): Promise<void> {
    for (const c of changes) {
      await sql(tx, `UPDATE fills SET realized_pl = $2 WHERE id = $1`, [c.id, c.realizedPl]);
    }
  }

  /**
   * Inserts `fills` in one statement, in their order (their ids follow it), returning the id of each new one (an
   * execution already recorded is skipped).
   */
  insertManyStatement(fills: readonly NewFill[]): Statement {
    const col = <K extends keyof NewFill>(k: K) => fills.map((f) => f[k]);
    return {
      text: `INSERT INTO fills (execution_id, client_order_id, broker_order_id, strategy_id, symbol, side, qty, price,
                            cum_qty, realized_pl, source, executed_at)
         SELECT execution_id, client_order_id, broker_order_id, strategy_id, symbol, side, qty, price, cum_qty,
                realized_pl, source, executed_at
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[],
                              $8::numeric[], $9::numeric[], $10::numeric[], $11::text[], $12::timestamptz[])
           WITH ORDINALITY AS f(execution_id, client_order_id, broker_order_id, strategy_id, symbol, side, qty, price,
                                cum_qty, realized_pl, source, executed_at, n)
         ORDER BY n
         ON CONFLICT DO NOTHING RETURNING id`,
      values: [
        col('executionId'),
        col('clientOrderId'),
        col('brokerOrderId'),
        col('strategyId'),
        col('symbol'),
        col('side'),
        col('qty'),
        col('price'),
        col('cumQty'),
        col('realizedPl'),
        col('source'),
        col('executedAt'),
      ],
    };
  }
}
