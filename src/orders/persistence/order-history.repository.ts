import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OrderSide } from '../../trading/order-status';

/** One recorded execution, as the API shows it. */
export interface FillView {
  clientOrderId: string;
  brokerOrderId: string | null;
  executionId: string;
  strategyId: string;
  symbol: string;
  side: OrderSide;
  qty: string;
  price: string;
  executedAt: Date;
}

/** One audit row of an order. */
export interface AuditView {
  id: string;
  occurredAt: Date;
  action: string;
  actor: string;
  reasonCode: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
}

interface FillRow {
  client_order_id: string;
  broker_order_id: string | null;
  execution_id: string;
  strategy_id: string;
  symbol: string;
  side: OrderSide;
  qty: string;
  price: string;
  executed_at: Date;
}

const FILL_COLUMNS = `client_order_id, broker_order_id, execution_id, strategy_id, symbol, side, qty::text AS qty,
  price::text AS price, executed_at`;

/** What happened to orders, read back: their fills and their audit rows. Read-only. */
@Injectable()
export class OrderHistoryRepository {
  constructor(private readonly ds: DataSource) {}

  /** The order's fills in execution order. */
  async fillsOf(clientOrderId: string): Promise<FillView[]> {
    const rows: FillRow[] = await this.ds.query(
      `SELECT ${FILL_COLUMNS} FROM fills WHERE client_order_id = $1 ORDER BY cum_qty`,
      [clientOrderId],
    );
    return rows.map(toFill);
  }

  /** The newest fills first, at most `limit`, with the number matching the filters. */
  async recentFills(f: {
    symbol?: string;
    strategyId?: string;
    strategyScope?: string[];
    limit: number;
  }): Promise<{ fills: FillView[]; total: number }> {
    const params: unknown[] = [];
    const where: string[] = [];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      where.push(condition.replace('?', `$${params.length}`));
    };
    if (f.symbol) add('symbol = ?', f.symbol);
    if (f.strategyId) add('strategy_id = ?', f.strategyId);
    if (f.strategyScope) add('strategy_id = ANY(?)', f.strategyScope);
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [rows, [count]] = await Promise.all([
      this.ds.query(
        `SELECT ${FILL_COLUMNS} FROM fills ${filter} ORDER BY executed_at DESC, id DESC LIMIT $${params.length + 1}`,
        [...params, f.limit],
      ) as Promise<FillRow[]>,
      this.ds.query(`SELECT count(*)::int AS total FROM fills ${filter}`, params) as Promise<Array<{ total: number }>>,
    ]);
    return { fills: rows.map(toFill), total: count.total };
  }

  /** The order's audit rows, oldest first. */
  async auditOf(clientOrderId: string): Promise<AuditView[]> {
    const rows: Array<{
      id: string;
      occurred_at: Date;
      action: string;
      actor: string;
      reason_code: string | null;
      request_id: string | null;
      details: Record<string, unknown>;
    }> = await this.ds.query(
      `SELECT id::text AS id, occurred_at, action, actor, reason_code, request_id, details
         FROM audit_log WHERE client_order_id = $1 ORDER BY id`,
      [clientOrderId],
    );
    return rows.map((r) => ({
      id: r.id,
      occurredAt: r.occurred_at,
      action: r.action,
      actor: r.actor,
      reasonCode: r.reason_code,
      requestId: r.request_id,
      details: r.details,
    }));
  }
}

function toFill(r: FillRow): FillView {
  return {
    clientOrderId: r.client_order_id,
    brokerOrderId: r.broker_order_id,
    executionId: r.execution_id,
    strategyId: r.strategy_id,
    symbol: r.symbol,
    side: r.side,
    qty: r.qty,
    price: r.price,
    executedAt: r.executed_at,
  };
}
