import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { sql } from '../../infra/database/unit-of-work';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { LegType } from '../../trading/order-class';
import { OrderSide, OrderStatus } from '../../trading/order-status';
import { LocalOrderView, PositionView } from '../domain/reconcile';

const LOCAL_ORDER_COLUMNS = `client_order_id, broker_order_id, symbol, side, qty, status, filled_qty, filled_avg_price,
  parent_order_id, leg_type`;

interface LocalOrderRow {
  client_order_id: string;
  broker_order_id: string | null;
  symbol: string;
  side: OrderSide;
  qty: string;
  status: OrderStatus;
  filled_qty: string;
  filled_avg_price: string | null;
  parent_order_id: string | null;
  leg_type: LegType | null;
}

const toLocal = (r: LocalOrderRow): LocalOrderView => ({
  clientOrderId: r.client_order_id,
  brokerOrderId: r.broker_order_id,
  symbol: r.symbol,
  side: r.side,
  qty: r.qty,
  status: r.status,
  filledQty: r.filled_qty,
  filledAvgPrice: r.filled_avg_price,
  parentOrderId: r.parent_order_id,
  legType: r.leg_type,
});

/**
 * What a run compares with the broker: read-only views of the orders, fills
 * and positions tables (their owning modules write them).
 */
@Injectable()
export class LocalBooksRepository {
  constructor(private readonly ds: DataSource) {}

  /** Every order that may still change at the broker. */
  async openOrders(): Promise<LocalOrderView[]> {
    const rows = await sql<LocalOrderRow>(this.ds, `SELECT ${LOCAL_ORDER_COLUMNS} FROM orders WHERE status = ANY($1)`, [
      [...OPEN_STATUSES],
    ]);
    return rows.map(toLocal);
  }

  /** Orders known by either id (any status), and the legs of those that have legs. */
  async ordersByIds(clientOrderIds: string[], brokerOrderIds: string[]): Promise<LocalOrderView[]> {
    if (!clientOrderIds.length && !brokerOrderIds.length) return [];
    const rows = await sql<LocalOrderRow>(
      this.ds,
      `WITH found AS (
         SELECT ${LOCAL_ORDER_COLUMNS} FROM orders WHERE client_order_id = ANY($1) OR broker_order_id = ANY($2)
       )
       SELECT * FROM found
       UNION
       SELECT ${LOCAL_ORDER_COLUMNS} FROM orders
        WHERE leg_type IS NOT NULL AND parent_order_id IN (SELECT client_order_id FROM found)`,
      [clientOrderIds, brokerOrderIds],
    );
    return rows.map(toLocal);
  }

  async knownExecutionIds(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await sql<{ execution_id: string }>(
      this.ds,
      `SELECT execution_id FROM fills WHERE execution_id = ANY($1)`,
      [ids],
    );
    return new Set(rows.map((r) => r.execution_id));
  }

  /**
   * Of `symbols`, those with an order written or changed (a fill applied, a
   * status) since `since`. Asked only for symbols whose position differs.
   */
  async symbolsChangedSince(symbols: string[], since: Date): Promise<string[]> {
    if (!symbols.length) return [];
    const rows = await sql<{ symbol: string }>(
      this.ds,
      `SELECT DISTINCT symbol FROM orders WHERE symbol = ANY($1::text[]) AND updated_at >= $2`,
      [symbols, since],
    );
    return rows.map((r) => r.symbol);
  }

  async positions(): Promise<PositionView[]> {
    const rows = await sql<{ symbol: string; qty: string; avg_entry_price: string }>(
      this.ds,
      `SELECT symbol, qty, avg_entry_price FROM positions`,
    );
    return rows.map((r) => ({ symbol: r.symbol, qty: r.qty, avgEntryPrice: r.avg_entry_price }));
  }
}
