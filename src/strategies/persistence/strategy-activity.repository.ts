import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { DayCount } from '../domain/performance';
import { BookFill } from '../domain/strategy-books';

const OPEN_LIST = [...OPEN_STATUSES].map((s) => `'${s}'`).join(', ');

export interface StrategyActivity {
  strategyId: string;
  lastOrderAt: Date | null;
  lastFillAt: Date | null;
  openOrders: number;
}

interface FillRow {
  id: string;
  strategy_id: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: string;
  price: string;
  executed_at: Date;
}

/** What the strategies' views read: their orders, fills and refusals. */
@Injectable()
export class StrategyActivityRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Every strategy that has an order or a state (within `scope`, undefined:
   * all), or only `strategyId`, with its activity; by strategy id.
   */
  async activity(scope: readonly string[] | undefined, strategyId?: string): Promise<StrategyActivity[]> {
    const ids = strategyId ? [strategyId] : (scope ?? null);
    const rows: Array<{
      strategy_id: string;
      last_order_at: Date | null;
      last_fill_at: Date | null;
      open_orders: number;
    }> = await this.ds.query(
      `WITH known AS (
           SELECT strategy_id FROM orders WHERE $1::text[] IS NULL OR strategy_id = ANY($1)
           UNION SELECT strategy_id FROM strategy_states WHERE $1::text[] IS NULL OR strategy_id = ANY($1))
         SELECT k.strategy_id,
                (SELECT MAX(created_at) FROM orders o WHERE o.strategy_id = k.strategy_id) AS last_order_at,
                (SELECT MAX(executed_at) FROM fills f WHERE f.strategy_id = k.strategy_id) AS last_fill_at,
                (SELECT COUNT(*) FROM orders o WHERE o.strategy_id = k.strategy_id AND o.status IN (${OPEN_LIST}))::int
                  AS open_orders
           FROM known k ORDER BY k.strategy_id`,
      [ids],
    );
    return rows.map((r) => ({
      strategyId: r.strategy_id,
      lastOrderAt: r.last_order_at,
      lastFillAt: r.last_fill_at,
      openOrders: r.open_orders,
    }));
  }

  /**
   * How many fills come at or before `w` in execution order (time truncated
   * to the ms as the books order fills, then id). Two index range scans.
   */
  async countFillsThrough(w: { executedAt: Date; id: string }): Promise<number> {
    const rows: Array<{ n: number }> = await this.ds.query(
      `SELECT ((SELECT count(*) FROM fills WHERE executed_at < $1)
             + (SELECT count(*) FROM fills
                 WHERE executed_at >= $1 AND executed_at < $1 + interval '1 millisecond' AND id <= $2::bigint))::int AS n`,
      [w.executedAt, w.id],
    );
    return rows[0].n;
  }

  /** Every fill after `w` (null: all) in execution order, executed before `before`. */
  async fillsAfter(w: { executedAt: Date; id: string } | null, before: Date): Promise<BookFill[]> {
    const rows: FillRow[] = await this.ds.query(
      `SELECT id::text AS id, strategy_id, symbol, side, qty::text AS qty, price::text AS price, executed_at
         FROM fills
        WHERE executed_at < $3
          AND ($1::timestamptz IS NULL
               OR (executed_at >= $1 AND (executed_at >= $1 + interval '1 millisecond' OR id > $2::bigint)))
        ORDER BY executed_at, id`,
      [w?.executedAt ?? null, w?.id ?? null, before],
    );
    return rows.map(toBookFill);
  }

  /** The account's realized P&L (as recorded on the fills) per UTC day in [from, to). */
  async accountRealizedByDay(from: Date, to: Date): Promise<Array<{ date: string; realizedPl: string }>> {
    const rows: Array<{ date: string; realized_pl: string }> = await this.ds.query(
      // Grouped by the date first: one to_char per day instead of one per row.
      `SELECT to_char(d, 'YYYY-MM-DD') AS date, realized_pl::text AS realized_pl
         FROM (SELECT (executed_at AT TIME ZONE 'UTC')::date AS d, SUM(realized_pl) AS realized_pl
                 FROM fills WHERE executed_at >= $1 AND executed_at < $2 GROUP BY 1) s
        ORDER BY d`,
      [from, to],
    );
    return rows.map((r) => ({ date: r.date, realizedPl: r.realized_pl }));
  }

  /** Orders created per UTC day and strategy in [from, to). */
  async ordersByDay(strategyIds: readonly string[] | undefined, from: Date, to: Date): Promise<DayCount[]> {
    return this.countByDay(
      `SELECT to_char(d, 'YYYY-MM-DD') AS date, strategy_id, count::int AS count
         FROM (SELECT (created_at AT TIME ZONE 'UTC')::date AS d, strategy_id, COUNT(*) AS count
                 FROM orders WHERE created_at >= $2 AND created_at < $3 AND ($1::text[] IS NULL OR strategy_id = ANY($1))
                GROUP BY 1, 2) s`,
      strategyIds,
      from,
      to,
    );
  }

  /** Refusals (pre-trade and broker rejections, `order.rejected` audit rows) per UTC day and strategy. */
  async rejectionsByDay(strategyIds: readonly string[] | undefined, from: Date, to: Date): Promise<DayCount[]> {
    return this.countByDay(
      `SELECT to_char(d, 'YYYY-MM-DD') AS date, strategy_id, count::int AS count
         FROM (SELECT (occurred_at AT TIME ZONE 'UTC')::date AS d, strategy_id, COUNT(*) AS count
                 FROM audit_log
                WHERE action = 'order.rejected' AND strategy_id IS NOT NULL AND occurred_at >= $2 AND occurred_at < $3
                  AND ($1::text[] IS NULL OR strategy_id = ANY($1))
                GROUP BY 1, 2) s`,
      strategyIds,
      from,
      to,
    );
  }

  private async countByDay(
    text: string,
    strategyIds: readonly string[] | undefined,
    from: Date,
    to: Date,
  ): Promise<DayCount[]> {
    const rows: Array<{ date: string; strategy_id: string; count: number }> = await this.ds.query(text, [
      strategyIds ?? null,
      from,
      to,
    ]);
    return rows.map((r) => ({ date: r.date, strategyId: r.strategy_id, count: r.count }));
  }
}

function toBookFill(r: FillRow): BookFill {
  return {
    id: r.id,
    strategyId: r.strategy_id,
    symbol: r.symbol,
    side: r.side,
    qty: r.qty,
    price: r.price,
    executedAt: r.executed_at,
  };
}
