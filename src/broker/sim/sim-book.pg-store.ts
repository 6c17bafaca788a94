/**
 * The sim's book in the gateway's PostgreSQL: tables sim_orders, sim_fills and
 * sim_prices (migrations/1764500000000-sim-book.ts). They are the simulated
 * exchange's own state; nothing else in the gateway reads them (the gateway
 * sees the sim only through the BrokerClient port).
 *
 * Invariants:
 * - one batch is one transaction: orders first (upserted by id), then fills
 *   (inserted once by execution id), then prices (upserted by symbol);
 * - decimals travel as text both ways (NUMERIC in, string out): exact.
 */
import { Decimal } from '../../common/decimal';
import type { UnitOfWork } from '../../infra/database/unit-of-work';
import { sql, type Db } from '../../infra/database/unit-of-work';
import type { SimBookChanges, SimBookSnapshot, SimBookStore } from './sim-book';
import type { SimExecution } from './sim-exchange';
import type { SimOrder, SimOrderStatus } from './sim-order';

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

const text = (d: Decimal | null): string | null => (d === null ? null : d.toFixed());

export class PgSimBookStore implements SimBookStore {
  constructor(
    private readonly db: Db,
    private readonly uow: Pick<UnitOfWork, 'run'>,
  ) {}

  async load(): Promise<SimBookSnapshot> {
    const [orders, fills, prices] = await Promise.all([
      sql<OrderRow>(
        this.db,
        `SELECT id, seq, client_order_id, symbol, side, type, time_in_force, qty::text, limit_price::text,
                stop_price::text, status, triggered, filled_qty::text, filled_notional::text, created_at, updated_at,
                submitted_at, filled_at, canceled_at, replaces, replaced_by
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

  async save(changes: SimBookChanges): Promise<void> {
    await this.uow.run(async (tx) => {
      for (const o of changes.orders) {
        await sql(
          tx,
          `INSERT INTO sim_orders (id, seq, client_order_id, symbol, side, type, time_in_force, qty, limit_price,
                                   stop_price, status, triggered, filled_qty, filled_notional, created_at, updated_at,
                                   submitted_at, filled_at, canceled_at, replaces, replaced_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, triggered = EXCLUDED.triggered,
             filled_qty = EXCLUDED.filled_qty, filled_notional = EXCLUDED.filled_notional,
             updated_at = EXCLUDED.updated_at, filled_at = EXCLUDED.filled_at, canceled_at = EXCLUDED.canceled_at,
             replaced_by = EXCLUDED.replaced_by`,
          [
            o.id,
            o.seq,
            o.clientOrderId,
            o.symbol,
            o.side,
            o.type,
            o.timeInForce,
            o.qty.toFixed(),
            text(o.limitPrice),
            text(o.stopPrice),
            o.status,
            o.triggered,
            o.filledQty.toFixed(),
            o.filledNotional.toFixed(),
            o.createdAt,
            o.updatedAt,
            o.submittedAt,
            o.filledAt,
            o.canceledAt,
            o.replaces,
            o.replacedBy,
          ],
        );
      }
      for (const e of changes.executions) {
        await sql(
          tx,
          `INSERT INTO sim_fills (execution_id, seq, order_id, symbol, side, qty, price, cum_qty, leaves_qty,
                                  position_qty, transaction_time)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (execution_id) DO NOTHING`,
          [
            e.executionId,
            e.seq,
            e.orderId,
            e.symbol,
            e.side,
            e.qty.toFixed(),
            e.price.toFixed(),
            e.cumQty.toFixed(),
            e.leavesQty.toFixed(),
            e.positionQty.toFixed(),
            e.transactionTime,
          ],
        );
      }
      for (const p of changes.prices) {
        await sql(
          tx,
          `INSERT INTO sim_prices (symbol, price, step, updated_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (symbol) DO UPDATE SET price = EXCLUDED.price, step = EXCLUDED.step, updated_at = now()`,
          [p.symbol, p.price.toFixed(), p.step],
        );
      }
    });
  }
}
