import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { LedgerCheckpoint } from '../domain/book-ledger';
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
   * to the ms as the books order fills, then id): every fill (fill_counts,
   * kept by a trigger in the fill's transaction) minus those after `w` (an
   * index range scan from `w`, short when `w` is recent). One statement, so
   * one snapshot.
   */
  async countFillsThrough(w: { executedAt: Date; id: string }): Promise<number> {
    const rows: Array<{ n: string }> = await this.ds.query(
      `SELECT ((SELECT COALESCE(SUM(fills), 0) FROM fill_counts)
             - (SELECT count(*) FROM fills WHERE executed_at >= $1::timestamptz + interval '1 millisecond')
             - (SELECT count(*) FROM fills
                 WHERE executed_at >= $1::timestamptz AND executed_at < $1::timestamptz + interval '1 millisecond'
                   AND id > $2::bigint))::text AS n`,
      [w.executedAt, w.id],
    );
    return Number(rows[0].n);
  }

  /** The books' checkpoint (docs/strategies-and-pnl.md#per-strategy-books), null when none was saved. */
  async loadCheckpoint(): Promise<LedgerCheckpoint | null> {
    const rows: Array<{ books: LedgerCheckpoint }> = await this.ds.query(
      `SELECT books FROM strategy_book_checkpoints WHERE id = 1`,
    );
    return rows[0]?.books ?? null;
  }

  /** Replaces the books' checkpoint. */
  async saveCheckpoint(c: LedgerCheckpoint): Promise<void> {
    await this.ds.query(
      `INSERT INTO strategy_book_checkpoints (id, fills_applied, last_fill_id, last_executed_at, books, saved_at)
       VALUES (1, $1, $2::bigint, $3, $4::jsonb, now())
       ON CONFLICT (id) DO UPDATE
          SET fills_applied = EXCLUDED.fills_applied, last_fill_id = EXCLUDED.last_fill_id,
              last_executed_at = EXCLUDED.last_executed_at, books = EXCLUDED.books, saved_at = EXCLUDED.saved_at`,
      [c.count, c.watermark.id, c.watermark.executedAt, JSON.stringify(c)],
    );
  }

  /**
   * Per UTC day in [start, end] (YYYY-MM-DD, inclusive) and strategy (within
   * `strategyIds`, undefined: all): orders created, `order.rejected` audit
   * rows, and the account's realized P&L recorded on the fills, from the
   * daily aggregates (an index range scan).
   */
  async statsByDay(
    strategyIds: readonly string[] | undefined,
    start: string,
    end: string,
  ): Promise<
    Array<{ date: string; strategyId: string; orders: number; rejections: number; accountRealizedPl: string }>
  > {
    const rows: Array<{
      date: string;
      strategy_id: string;
      orders: number;
      rejections: number;
      account_realized_pl: string;
    }> = await this.ds.query(
      `SELECT to_char(day, 'YYYY-MM-DD') AS date, strategy_id, SUM(orders)::int AS orders,
              SUM(rejections)::int AS rejections, SUM(account_realized_pl)::text AS account_realized_pl
         FROM strategy_daily_stats
        WHERE day >= $2::date AND day <= $3::date AND ($1::text[] IS NULL OR strategy_id = ANY($1))
        GROUP BY day, strategy_id`,
      [strategyIds ?? null, start, end],
    );
    return rows.map((r) => ({
      date: r.date,
      strategyId: r.strategy_id,
      orders: r.orders,
      rejections: r.rejections,
      accountRealizedPl: r.account_realized_pl,
    }));
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
