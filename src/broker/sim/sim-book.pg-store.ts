/**
 * The sim's book in the gateway's PostgreSQL: tables sim_orders, sim_fills and
 * sim_prices (migrations/1764500000000-sim-book.ts). They are the simulated
 * exchange's own state; nothing else in the gateway reads them (the gateway
 * sees the sim only through the BrokerClient port).
 *
 * Invariants:
 * - one batch is one statement, so one round trip and atomic: orders
 *   (upserted by id), fills (inserted once by execution id), prices (upserted
 *   by symbol);
 * - decimals travel as text both ways (NUMERIC in, string out): exact.
 */
import { Decimal } from '../../common/decimal';
import { sql, type Db } from '../../infra/database/unit-of-work';
import type {
  SimArchiveFillsQuery,
  SimArchiveOrdersQuery,
  SimBookArchive,
  SimBookChanges,
  SimBookSnapshot,
  SimBookStore,
} from './sim-book';
import type { SimExecution } from './sim-exchange';
import type { SimLegType, SimOrder, SimOrderClass, SimOrderStatus } from './sim-order';

interface OrderRow {
  id: string;
  seq: string;
  client_order_id: string;
  symbol: string;
  side: SimOrder['side'];
  type: SimOrder['type'];
  time_in_force: SimOrder['timeInForce'];
  qty: string;
  limit_price: string | null;
  stop_price: string | null;
  trail_price: string | null;
  trail_percent: string | null;
  hwm: string | null;
  status: SimOrderStatus;
  triggered: boolean;
  filled_qty: string;
  filled_notional: string;
  created_at: Date;
  updated_at: Date | null;
  submitted_at: Date | null;
  filled_at: Date | null;
  canceled_at: Date | null;
  replaces: string | null;
  replaced_by: string | null;
  order_class: SimOrderClass;
  leg_type: SimLegType | null;
  parent_id: string | null;
}

interface FillRow {
  execution_id: string;
  seq: string;
  order_id: string;
  symbol: string;
  side: SimExecution['side'];
  qty: string;
  price: string;
  cum_qty: string;
  leaves_qty: string;
  position_qty: string;
  transaction_time: Date;
}

const dec = (v: string | null): Decimal | null => (v === null ? null : new Decimal(v));

function orderOf(r: OrderRow): SimOrder {
  return {
    seq: Number(r.seq),
    id: r.id,
    clientOrderId: r.client_order_id,
    symbol: r.symbol,
    side: r.side,
    type: r.type,
    timeInForce: r.time_in_force,
    qty: new Decimal(r.qty),
    limitPrice: dec(r.limit_price),
    stopPrice: dec(r.stop_price),
    trailPrice: dec(r.trail_price),
    trailPercent: dec(r.trail_percent),
    hwm: dec(r.hwm),
    status: r.status,
    triggered: r.triggered,
    filledQty: new Decimal(r.filled_qty),
    filledNotional: new Decimal(r.filled_notional),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    submittedAt: r.submitted_at,
    filledAt: r.filled_at,
    canceledAt: r.canceled_at,
    replaces: r.replaces,
    replacedBy: r.replaced_by,
    orderClass: r.order_class,
    legType: r.leg_type,
    parentId: r.parent_id,
  };
}

function executionOf(r: FillRow): SimExecution {
  return {
    seq: Number(r.seq),
    executionId: r.execution_id,
    orderId: r.order_id,
    symbol: r.symbol,
    side: r.side,
    qty: new Decimal(r.qty),
    price: new Decimal(r.price),
    cumQty: new Decimal(r.cum_qty),
    leavesQty: new Decimal(r.leaves_qty),
    positionQty: new Decimal(r.position_qty),
    transactionTime: r.transaction_time,
  };
}

const ORDER_COLUMNS = `id, seq, client_order_id, symbol, side, type, time_in_force, qty::text, limit_price::text,
  stop_price::text, status, triggered, filled_qty::text, filled_notional::text, created_at, updated_at,
  submitted_at, filled_at, canceled_at, replaces, replaced_by, trail_price::text, trail_percent::text,
  hwm::text, order_class, leg_type, parent_id`;
const FILL_COLUMNS = `execution_id, seq, order_id, symbol, side, qty::text, price::text, cum_qty::text, leaves_qty::text,
  position_qty::text, transaction_time`;
/** The statuses of a live order (sim-order.ts isLive). */
const LIVE = `status IN ('new', 'partially_filled', 'held')`;

const text = (d: Decimal | null): string | null => (d === null ? null : d.toFixed());

export class PgSimBookStore implements SimBookStore, SimBookArchive {
  constructor(private readonly db: Db) {}

  async findOrder(key: { id: string } | { clientOrderId: string }): Promise<SimOrder[]> {
    const [column, value] = 'id' in key ? ['id', key.id] : ['client_order_id', key.clientOrderId];
    const found = await sql<OrderRow>(
      this.db,
      `SELECT ${ORDER_COLUMNS} FROM sim_orders WHERE ${column} = $1 ORDER BY seq, id LIMIT 1`,
      [value],
    );
    if (found.length === 0) return [];
    const order = orderOf(found[0]);
    if (order.parentId !== null) return [order];
    return [order, ...(await this.legsOf([order.id]))];
  }

  async listOrders(q: SimArchiveOrdersQuery): Promise<SimOrder[]> {
    const status = q.status === 'all' ? '' : q.status === 'open' ? `AND ${LIVE}` : `AND NOT ${LIVE}`;
    const rows = await sql<OrderRow>(
      this.db,
      `SELECT ${ORDER_COLUMNS} FROM sim_orders
        WHERE parent_id IS NULL ${status}
          AND ($1::text[] IS NULL OR symbol = ANY($1::text[]))
          AND ($2::timestamptz IS NULL OR created_at > $2) AND ($3::timestamptz IS NULL OR created_at < $3)
        ORDER BY seq DESC, created_at DESC, id DESC LIMIT $4`,
      [q.symbols, q.after?.toISOString() ?? null, q.until?.toISOString() ?? null, q.limit],
    );
    const roots = rows.map(orderOf);
    const legs = await this.legsOf(roots.map((o) => o.id));
    return roots.flatMap((o) => [o, ...legs.filter((l) => l.parentId === o.id)]);
  }

  async listFills(q: SimArchiveFillsQuery): Promise<SimExecution[]> {
    const rows = await sql<FillRow>(
      this.db,
      `SELECT ${FILL_COLUMNS} FROM sim_fills
        WHERE seq > $1 AND ($2::timestamptz IS NULL OR transaction_time > $2)
          AND ($3::timestamptz IS NULL OR transaction_time < $3)
        ORDER BY seq, transaction_time, execution_id LIMIT $4`,
      [q.afterSeq, q.after?.toISOString() ?? null, q.until?.toISOString() ?? null, q.limit],
    );
    return rows.map(executionOf);
  }

  async fillSeq(executionId: string): Promise<number | null> {
    const rows = await sql<{ seq: string }>(this.db, 'SELECT seq FROM sim_fills WHERE execution_id = $1', [
      executionId,
    ]);
    return rows.length === 0 ? null : Number(rows[0].seq);
  }

  private async legsOf(parentIds: string[]): Promise<SimOrder[]> {
    if (parentIds.length === 0) return [];
    const rows = await sql<OrderRow>(
      this.db,
      `SELECT ${ORDER_COLUMNS} FROM sim_orders WHERE parent_id = ANY($1::text[]) ORDER BY seq, id`,
      [parentIds],
    );
    return rows.map(orderOf);
  }

  async load(): Promise<SimBookSnapshot> {
    const [orders, fills, prices] = await Promise.all([
      sql<OrderRow>(
        this.db,
        `SELECT id, seq, client_order_id, symbol, side, type, time_in_force, qty::text, limit_price::text,
                stop_price::text, status, triggered, filled_qty::text, filled_notional::text, created_at, updated_at,
                submitted_at, filled_at, canceled_at, replaces, replaced_by, trail_price::text, trail_percent::text,
                hwm::text, order_class, leg_type, parent_id
           FROM sim_orders ORDER BY seq, created_at, id`,
      ),
      sql<FillRow>(
        this.db,
        `SELECT execution_id, seq, order_id, symbol, side, qty::text, price::text, cum_qty::text, leaves_qty::text,
                position_qty::text, transaction_time
           FROM sim_fills ORDER BY seq, transaction_time, execution_id`,
      ),
      sql<{ symbol: string; price: string; step: string }>(
        this.db,
        'SELECT symbol, price::text, step FROM sim_prices ORDER BY symbol',
      ),
    ]);
    return {
      orders: orders.map(orderOf),
      executions: fills.map(executionOf),
      prices: prices.map((p) => ({ symbol: p.symbol, price: new Decimal(p.price), step: Number(p.step) })),
    };
  }

  /** One statement (so one round trip, atomic): orders, then fills, then prices, each as a JSON array of rows. */
  async save(changes: SimBookChanges): Promise<void> {
    const orders = changes.orders.map((o) => ({
      id: o.id,
      seq: o.seq,
      client_order_id: o.clientOrderId,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      time_in_force: o.timeInForce,
      qty: o.qty.toFixed(),
      limit_price: text(o.limitPrice),
      stop_price: text(o.stopPrice),
      trail_price: text(o.trailPrice),
      trail_percent: text(o.trailPercent),
      hwm: text(o.hwm),
      status: o.status,
      triggered: o.triggered,
      filled_qty: o.filledQty.toFixed(),
      filled_notional: o.filledNotional.toFixed(),
      created_at: o.createdAt.toISOString(),
      updated_at: o.updatedAt?.toISOString() ?? null,
      submitted_at: o.submittedAt?.toISOString() ?? null,
      filled_at: o.filledAt?.toISOString() ?? null,
      canceled_at: o.canceledAt?.toISOString() ?? null,
      replaces: o.replaces,
      replaced_by: o.replacedBy,
      order_class: o.orderClass,
      leg_type: o.legType,
      parent_id: o.parentId,
    }));
    const fills = changes.executions.map((e) => ({
      execution_id: e.executionId,
      seq: e.seq,
      order_id: e.orderId,
      symbol: e.symbol,
      side: e.side,
      qty: e.qty.toFixed(),
      price: e.price.toFixed(),
      cum_qty: e.cumQty.toFixed(),
      leaves_qty: e.leavesQty.toFixed(),
      position_qty: e.positionQty.toFixed(),
      transaction_time: e.transactionTime.toISOString(),
    }));
    const prices = changes.prices.map((p) => ({ symbol: p.symbol, price: p.price.toFixed(), step: p.step }));
    await sql(
      this.db,
      `WITH o AS (
         INSERT INTO sim_orders (id, seq, client_order_id, symbol, side, type, time_in_force, qty, limit_price,
                                 stop_price, status, triggered, filled_qty, filled_notional, created_at, updated_at,
                                 submitted_at, filled_at, canceled_at, replaces, replaced_by, trail_price,
                                 trail_percent, hwm, order_class, leg_type, parent_id)
         SELECT id, seq, client_order_id, symbol, side, type, time_in_force, qty, limit_price, stop_price, status,
                triggered, filled_qty, filled_notional, created_at, updated_at, submitted_at, filled_at, canceled_at,
                replaces, replaced_by, trail_price, trail_percent, hwm, order_class, leg_type, parent_id
           FROM jsonb_to_recordset($1::jsonb) AS r(id text, seq bigint, client_order_id text, symbol text, side text,
                type text, time_in_force text, qty numeric, limit_price numeric, stop_price numeric, status text,
                triggered boolean, filled_qty numeric, filled_notional numeric, created_at timestamptz,
                updated_at timestamptz, submitted_at timestamptz, filled_at timestamptz, canceled_at timestamptz,
                replaces text, replaced_by text, trail_price numeric, trail_percent numeric, hwm numeric,
                order_class text, leg_type text, parent_id text)
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, triggered = EXCLUDED.triggered,
           stop_price = EXCLUDED.stop_price, hwm = EXCLUDED.hwm,
           filled_qty = EXCLUDED.filled_qty, filled_notional = EXCLUDED.filled_notional,
           updated_at = EXCLUDED.updated_at, filled_at = EXCLUDED.filled_at, canceled_at = EXCLUDED.canceled_at,
           replaced_by = EXCLUDED.replaced_by
         RETURNING 1
       ), f AS (
         INSERT INTO sim_fills (execution_id, seq, order_id, symbol, side, qty, price, cum_qty, leaves_qty,
                                position_qty, transaction_time)
         SELECT execution_id, seq, order_id, symbol, side, qty, price, cum_qty, leaves_qty, position_qty,
                transaction_time
           FROM jsonb_to_recordset($2::jsonb) AS r(execution_id text, seq bigint, order_id text, symbol text,
                side text, qty numeric, price numeric, cum_qty numeric, leaves_qty numeric, position_qty numeric,
                transaction_time timestamptz)
         ON CONFLICT (execution_id) DO NOTHING
         RETURNING 1
       ), p AS (
         INSERT INTO sim_prices (symbol, price, step, updated_at)
         SELECT symbol, price, step, now() FROM jsonb_to_recordset($3::jsonb) AS r(symbol text, price numeric, step bigint)
         ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, step = EXCLUDED.step, updated_at = now()
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM o) AS orders, (SELECT count(*) FROM f) AS fills, (SELECT count(*) FROM p) AS prices`,
      [JSON.stringify(orders), JSON.stringify(fills), JSON.stringify(prices)],
    );
  }
}
