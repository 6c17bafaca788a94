import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditEntry } from '../../audit/audit-entry';
import { prepared, sql, Statement, Tx } from '../../infra/database/unit-of-work';
import { NewOrder, Order } from '../../trading/order';
import { OrderStatus } from '../../trading/order-status';
import {
  asArrayText,
  InsertGuard,
  INSERT_GUARDED,
  INSERT_GUARDED_MANY,
  INSERT_PARAMS,
  INSERT_WITH_AUDIT,
} from './order-insert';
import { COLUMNS, OrderRow, toOrder } from './order-row';

/** The fields the lifecycle (broker answers, updates, fills) may change. */
export type OrderLifecycleChange = Pick<
  Order,
  | 'status'
  | 'filledQty'
  | 'filledAvgPrice'
  | 'brokerOrderId'
  | 'submittedAt'
  | 'filledAt'
  | 'errorMessage'
  | 'retryCount'
  | 'updatedAt'
> &
  Partial<Pick<Order, 'replacedBy'>>;

export interface OrderListFilter {
  statuses?: OrderStatus[];
  symbol?: string;
  strategyId?: string;
  /** Restricts to these strategies (an API key's scope); undefined means all. */
  strategyScope?: string[];
  createdAfter?: Date;
  createdBefore?: Date;
  /** Only orders older (smaller seq) than this. */
  beforeSeq?: string;
  limit: number;
}

export interface OrderPage {
  orders: Order[];
  /** The seq of the last order returned when more may follow. */
  lastSeq: string | null;
}

/**
 * The orders table. Idempotency rests on its primary key: concurrent inserts
 * of one client_order_id resolve in the database, exactly one wins.
 */
@Injectable()
export class OrderRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Inserts the order and its audit row in one statement (one round trip, one
   * transaction). A TWAP slice's plan link is part of the same insert, so no
   * child order ever exists without it. When the client_order_id already exists nothing is written
   * and `created` is false; the caller then reads the existing order.
   */
  async insertWithAudit(
    order: NewOrder,
    audit: AuditEntry,
    /** The unit of work to write in (the one holding the exposure locks); default: a statement of its own. */
    tx?: Tx,
    /** Written under this exposure guard: fails with `isGuardError` past it, writing nothing. */
    guard?: InsertGuard,
  ): Promise<{ order: Order | null; created: boolean }> {
    const values = insertValues(order, audit);
    const rows = guard
      ? await prepared<OrderRow>(tx ?? this.ds, 'orders_insert_guarded', INSERT_GUARDED, [
          ...values,
          guard.guard,
          String(guard.maxOpenOrders),
        ])
      : await prepared<OrderRow>(tx ?? this.ds, 'orders_insert_with_audit', INSERT_WITH_AUDIT, values);
    return rows.length ? { order: toOrder(rows[0]), created: true } : { order: null, created: false };
  }

  /**
   * Several orders, each with its audit row and under its own exposure guard, in one statement (one
   * transaction: one hold of their symbols' counter rows, one commit), inserted in the order given. Fails with
   * `isGuardError` when one of them is past its guard, and at commit with `strategyLimitError`: then nothing is
   * written. Answers the orders written, by client_order_id; an order whose id was already taken is not among them.
   */
  async insertGuardedMany(
    entries: ReadonlyArray<{ order: NewOrder; audit: AuditEntry; guard: string }>,
    maxOpenOrders: number,
  ): Promise<Map<string, Order>> {
    const columns: Array<Array<string | null>> = Array.from({ length: INSERT_PARAMS }, () => []);
    const guards: Record<string, string> = {};
    for (const e of entries) {
      insertValues(e.order, e.audit).forEach((v, i) => columns[i].push(asArrayText(v)));
      guards[e.order.clientOrderId] = e.guard;
    }
    const rows = await prepared<OrderRow>(this.ds, 'orders_insert_guarded_many', INSERT_GUARDED_MANY, [
      ...columns,
      JSON.stringify(guards),
      String(maxOpenOrders),
    ]);
    return new Map(rows.map((r) => [r.client_order_id, toOrder(r)]));
  }

  async findByClientOrderId(clientOrderId: string): Promise<Order | null> {
    const rows: OrderRow[] = await this.ds.query(`SELECT ${COLUMNS} FROM orders WHERE client_order_id = $1`, [
      clientOrderId,
    ]);
    return rows.length ? toOrder(rows[0]) : null;
  }

  /** The legs of an order with legs (bracket, oto, oco), take-profit first; locked for the rest of `tx` when given. */
  async findLegs(parentOrderId: string, tx?: Tx): Promise<Order[]> {
    const rows = await sql<OrderRow>(
      tx ?? this.ds,
      `SELECT ${COLUMNS} FROM orders WHERE parent_order_id = $1 AND leg_type IS NOT NULL
        ORDER BY leg_type DESC${tx ? ' FOR UPDATE' : ''}`,
      [parentOrderId],
    );
    return rows.map(toOrder);
  }

  /** The order the broker knows by `brokerOrderId`, if any (webhooks check both ids agree). */
  async findByBrokerOrderId(brokerOrderId: string): Promise<Order | null> {
    const rows: OrderRow[] = await this.ds.query(`SELECT ${COLUMNS} FROM orders WHERE broker_order_id = $1 LIMIT 1`, [
      brokerOrderId,
    ]);
    return rows.length ? toOrder(rows[0]) : null;
  }

  /**
   * Locks the order row for the rest of `tx`, found by client_order_id or,
   * failing that, by the broker's order id.
   */
  async lockForUpdate(tx: Tx, key: { clientOrderId?: string; brokerOrderId?: string }): Promise<Order | null> {
    if (key.clientOrderId) {
      const rows = await sql<OrderRow>(tx, `SELECT ${COLUMNS} FROM orders WHERE client_order_id = $1 FOR UPDATE`, [
        key.clientOrderId,
      ]);
      if (rows.length) return toOrder(rows[0]);
    }
    if (key.brokerOrderId) {
      const rows = await sql<OrderRow>(tx, `SELECT ${COLUMNS} FROM orders WHERE broker_order_id = $1 FOR UPDATE`, [
        key.brokerOrderId,
      ]);
      if (rows.length) return toOrder(rows[0]);
    }
    return null;
  }

  /**
   * Locks these orders for the rest of `tx`, in client_order_id order (so two such units cannot deadlock), and
   * answers those found, as locked (ids not found are left out).
   */
  async lockMany(tx: Tx, clientOrderIds: string[]): Promise<Order[]> {
    const ids = [...new Set(clientOrderIds)].sort();
    const rows = await sql<OrderRow>(
      tx,
      `SELECT ${COLUMNS} FROM orders WHERE client_order_id = ANY($1::text[]) ORDER BY client_order_id FOR UPDATE`,
      [ids],
    );
    return rows.map(toOrder);
  }

  /** Writes the lifecycle fields of a locked order. */
  async updateLifecycle(tx: Tx, clientOrderId: string, c: OrderLifecycleChange): Promise<void> {
    await sql(
      tx,
      `UPDATE orders SET status = $2, filled_qty = $3, filled_avg_price = $4, broker_order_id = $5,
              submitted_at = $6, filled_at = $7, error_message = $8, retry_count = $9, updated_at = $10,
              replaced_by = COALESCE($11, replaced_by)
        WHERE client_order_id = $1`,
      [
        clientOrderId,
        c.status,
        c.filledQty,
        c.filledAvgPrice,
        c.brokerOrderId,
        c.submittedAt,
        c.filledAt,
        c.errorMessage,
        c.retryCount,
        c.updatedAt,
        c.replacedBy ?? null,
      ],
    );
  }

  /**
   * The replacements written for `clientOrderId` (any status), oldest first:
   * the door reads them under the old order's row lock to refuse a second
   * replace while one is in flight, and to number the next one.
   */
  async findReplacements(tx: Tx, clientOrderId: string): Promise<Order[]> {
    const rows = await sql<OrderRow>(tx, `SELECT ${COLUMNS} FROM orders WHERE replaces = $1 ORDER BY seq`, [
      clientOrderId,
    ]);
    return rows.map(toOrder);
  }

  /** Whether any order holds `clientOrderId` (scope-blind: for choosing a free id, never answered to a caller). */
  async exists(tx: Tx, clientOrderId: string): Promise<boolean> {
    const rows = await sql<{ one: number }>(tx, `SELECT 1 AS one FROM orders WHERE client_order_id = $1`, [
      clientOrderId,
    ]);
    return rows.length > 0;
  }

  /** When a 429'd submission may be tried again (kept in metadata; cleared by null). */
  async setNextAttempt(tx: Tx, clientOrderId: string, at: Date | null): Promise<void> {
    await sql(
      tx,
      `UPDATE orders SET metadata = CASE WHEN $2::timestamptz IS NULL THEN metadata - 'next_attempt_at'
              ELSE jsonb_set(metadata, '{next_attempt_at}', to_jsonb($2::timestamptz)) END
        WHERE client_order_id = $1`,
      [clientOrderId, at],
    );
  }

  /**
   * Orders in `statuses` last changed before `before`, oldest first: work for the resolver. Never a leg: a
   * leg is sent, and resolved, with its entry.
   */
  async findStale(statuses: OrderStatus[], before: Date, limit: number): Promise<Order[]> {
    const rows: OrderRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM orders WHERE status = ANY($1) AND updated_at < $2 AND leg_type IS NULL
        ORDER BY updated_at LIMIT $3`,
      [statuses, before, limit],
    );
    return rows.map(toOrder);
  }

  /**
   * One page of orders in `statuses` not changed since `before`, in
   * client_order_id order after `afterId`: callers walk the pages round-robin,
   * so every open order gets its turn however many there are.
   */
  async findPageByStatus(statuses: OrderStatus[], before: Date, afterId: string, limit: number): Promise<Order[]> {
    const rows: OrderRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM orders
        WHERE status = ANY($1) AND updated_at < $2 AND client_order_id > $3
        ORDER BY client_order_id LIMIT $4`,
      [statuses, before, afterId, limit],
    );
    return rows.map(toOrder);
  }

  /**
   * Every order not yet ended (any status but a terminal one), oldest first,
   * optionally of one symbol, strategy or TWAP parent, within `strategyScope`.
   */
  async listOpen(f: {
    statuses: OrderStatus[];
    symbol?: string;
    strategyId?: string;
    parentOrderId?: string;
    strategyScope?: string[];
  }): Promise<Order[]> {
    const params: unknown[] = [f.statuses];
    const where = ['status = ANY($1)'];
    const add = (condition: string, value: unknown) => {
      params.push(value);
      where.push(condition.replace('?', `$${params.length}`));
    };
    if (f.symbol) add('symbol = ?', f.symbol);
    if (f.strategyId) add('strategy_id = ?', f.strategyId);
    if (f.parentOrderId) add('parent_order_id = ?', f.parentOrderId);
    if (f.strategyScope) add('strategy_id = ANY(?)', f.strategyScope);
    const rows: OrderRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM orders WHERE ${where.join(' AND ')} ORDER BY seq`,
      params,
    );
    return rows.map(toOrder);
  }

  async list(f: OrderListFilter): Promise<OrderPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (f.statuses?.length) add('status = ANY(?)', f.statuses);
    if (f.symbol) add('symbol = ?', f.symbol);
    if (f.strategyId) add('strategy_id = ?', f.strategyId);
    if (f.strategyScope) add('strategy_id = ANY(?)', f.strategyScope);
    if (f.createdAfter) add('created_at >= ?', f.createdAfter);
    if (f.createdBefore) add('created_at < ?', f.createdBefore);
    if (f.beforeSeq) add('seq < ?', f.beforeSeq);
    params.push(f.limit + 1);
    const rows: OrderRow[] = await this.ds.query(
      `SELECT ${COLUMNS} FROM orders ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY seq DESC LIMIT $${params.length}`,
      params,
    );
    const more = rows.length > f.limit;
    const page = more ? rows.slice(0, f.limit) : rows;
    return { orders: page.map(toOrder), lastSeq: more ? page[page.length - 1].seq : null };
  }

  /** Writes the lifecycle fields of several locked orders in one statement, each as `updateLifecycle` would. */
  updateLifecycleManyStatement(
    changes: ReadonlyArray<{ clientOrderId: string; change: OrderLifecycleChange }>,
  ): Statement {
    const col = <T>(f: (c: { clientOrderId: string; change: OrderLifecycleChange }) => T) => changes.map(f);
    return {
      text: `UPDATE orders o SET status = u.status, filled_qty = u.filled_qty, filled_avg_price = u.filled_avg_price,
                broker_order_id = u.broker_order_id, submitted_at = u.submitted_at, filled_at = u.filled_at,
                error_message = u.error_message, retry_count = u.retry_count, updated_at = u.updated_at,
                replaced_by = COALESCE(u.replaced_by, o.replaced_by)
           FROM unnest($1::text[], $2::text[], $3::numeric[], $4::numeric[], $5::text[], $6::timestamptz[],
                       $7::timestamptz[], $8::text[], $9::int[], $10::timestamptz[], $11::text[])
             AS u(client_order_id, status, filled_qty, filled_avg_price, broker_order_id, submitted_at, filled_at,
                  error_message, retry_count, updated_at, replaced_by)
          WHERE o.client_order_id = u.client_order_id`,
      values: [
        col((c) => c.clientOrderId),
        col((c) => c.change.status),
        col((c) => c.change.filledQty),
        col((c) => c.change.filledAvgPrice),
        col((c) => c.change.brokerOrderId),
        col((c) => c.change.submittedAt),
        col((c) => c.change.filledAt),
        col((c) => c.change.errorMessage),
        col((c) => c.change.retryCount),
        col((c) => c.change.updatedAt),
        col((c) => c.change.replacedBy ?? null),
      ],
    };
  }
}

/** The parameters of an insert with its audit row ($1..$31 of INSERT_WITH_AUDIT; see INSERT_PARAMS). */
function insertValues(order: NewOrder, audit: AuditEntry): unknown[] {
  return [
    order.clientOrderId,
    order.strategyId,
    order.symbol,
    order.side,
    order.qty,
    order.orderType,
    order.limitPrice,
    order.stopPrice,
    order.timeInForce,
    order.status,
    JSON.stringify(order.metadata),
    order.createdAt,
    audit.action,
    audit.actor,
    audit.requestId ?? null,
    JSON.stringify(audit.details ?? {}),
    order.trailPrice ?? null,
    order.trailPercent ?? null,
    order.extendedHours ?? false,
    order.parentOrderId ?? null,
    order.sliceNum ?? null,
    order.totalSlices ?? null,
    order.scheduledTime ?? null,
    order.errorMessage ?? null,
    audit.reasonCode ?? null,
    order.replaces ?? null,
    order.orderClass ?? 'simple',
    order.legType ?? null,
    order.takeProfitLimitPrice ?? null,
    order.stopLossStopPrice ?? null,
    order.stopLossLimitPrice ?? null,
  ];
}
