import { Injectable } from '@nestjs/common';
import { Decimal } from '../../common/decimal';
import { DataSource } from 'typeorm';
import { prepared, sql, Tx } from '../../infra/database/unit-of-work';
import { restingExitTotal } from '../../trading/exit-legs';
import { OrderClass } from '../../trading/order-class';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { OrderSide } from '../../trading/order-status';
import { ExposureSnapshot, isReduceOnly } from '../../risk/pipeline/pre-trade-checks';

/** The open statuses as a literal list, matching the partial indexes of migration 1764400000000. */
const OPEN_LIST = [...OPEN_STATUSES].map((s) => `'${s}'`).join(', ');

/**
 * A replacement still being sent and the open order it replaces are one
 * exposure, not two: the counters hold both, and the read takes off the
 * smaller of the two open quantities of each such pair, so the pair counts as
 * the larger (the broker holds buying power for the larger of old and new
 * during a replace). The pairs change only with their orders, whose writers
 * update the symbol's counter row: under that row's lock the read is
 * consistent. The strategy's open-order count keeps both (the safe side).
 */
const PAIRS = `SELECT SUM(LEAST(r.qty - r.filled_qty, o.qty - o.filled_qty)) FILTER (WHERE r.side = 'buy') AS buy,
    SUM(LEAST(r.qty - r.filled_qty, o.qty - o.filled_qty)) FILTER (WHERE r.side = 'sell') AS sell
  FROM orders r JOIN orders o ON o.client_order_id = r.replaces
  WHERE r.symbol = $1 AND r.replaces IS NOT NULL AND r.status IN (${OPEN_LIST}) AND o.status IN (${OPEN_LIST})`;

/**
 * The counters (migration 1765300000000): one row per symbol and one per
 * strategy, kept by triggers in the transaction of every order and position
 * change. Read in the transaction that inserted an order, they are rows that
 * transaction holds locked (the insert's trigger updated them).
 */
const EXPOSURE = `SELECT
    COALESCE(s.position_qty, 0)::text AS position_qty,
    (COALESCE(s.open_buy_qty, 0) - COALESCE(p.buy, 0))::text AS open_buy,
    (COALESCE(s.open_sell_qty, 0) - COALESCE(p.sell, 0))::text AS open_sell,
    COALESCE((SELECT open_orders FROM strategy_exposure WHERE strategy_id = $2), 0)::int AS strategy_open
  FROM (SELECT 1) one LEFT JOIN symbol_exposure s ON s.symbol = $1
  LEFT JOIN LATERAL (${PAIRS}) p ON true`;

const EXPOSURE_HELD = `${EXPOSURE}
  CROSS JOIN (SELECT set_config('exposure.max_open_orders', $3, true)) limit_set`;

/**
 * The orders with legs that have an open leg on side $2 of symbol $1, one row each (src/trading/exit-legs.ts):
 * the entry's state, what all its legs filled, and the largest open remainder among its open legs on that side.
 * Found through the open orders of the symbol (orders_open_symbol_idx) and each entry's legs (orders_legs_idx).
 */
const EXIT_LEGS = `SELECT e.order_class, (e.status IN (${OPEN_LIST})) AS entry_open, e.qty::text AS entry_qty,
    e.filled_qty::text AS entry_filled,
    (SELECT COALESCE(SUM(a.filled_qty), 0) FROM orders a
      WHERE a.parent_order_id = e.client_order_id AND a.leg_type IS NOT NULL)::text AS legs_filled,
    MAX(l.qty - l.filled_qty)::text AS open_leg
  FROM orders l JOIN orders e ON e.client_order_id = l.parent_order_id
  WHERE l.symbol = $1 AND l.side = $2 AND l.leg_type IS NOT NULL AND l.status IN (${OPEN_LIST})
  GROUP BY e.client_order_id`;

/** The SQLSTATE of a commit refused because the strategy's open orders would pass the limit. */
const STRATEGY_LIMIT_SQLSTATE = 'EG001';

/** The commit was refused: the strategy already had `openOrders` open orders (the limit). */
export function strategyLimitError(err: unknown): { openOrders: number } | null {
  const e = err as { code?: string; detail?: string } | null;
  if (e?.code !== STRATEGY_LIMIT_SQLSTATE) return null;
  return { openOrders: Number(e.detail ?? NaN) };
}

/** The same figures computed from the orders and positions themselves (verification at start). */
const SYMBOLS_FROM_ORDERS = `SELECT symbol, SUM(position_qty)::text AS position_qty, SUM(open_buy)::text AS open_buy,
    SUM(open_sell)::text AS open_sell
  FROM (
    SELECT symbol, qty AS position_qty, 0 AS open_buy, 0 AS open_sell FROM positions
    UNION ALL
    SELECT symbol, 0, COALESCE(SUM(qty - filled_qty) FILTER (WHERE side = 'buy'), 0),
      COALESCE(SUM(qty - filled_qty) FILTER (WHERE side = 'sell'), 0)
    FROM orders WHERE status IN (${OPEN_LIST}) AND leg_type IS NULL GROUP BY symbol
  ) x GROUP BY symbol`;

const STRATEGIES_FROM_ORDERS = `SELECT strategy_id, COUNT(*)::int AS open_orders
  FROM orders WHERE status IN (${OPEN_LIST}) AND leg_type IS NULL GROUP BY strategy_id`;

interface ExitLegRow {
  order_class: OrderClass;
  entry_open: boolean;
  entry_qty: string;
  entry_filled: string;
  legs_filled: string;
  open_leg: string;
}

interface ExposureRow {
  position_qty: string;
  open_buy: string;
  open_sell: string;
  strategy_open: number;
}

function toSnapshot(row: ExposureRow | undefined): ExposureSnapshot {
  return {
    positionQty: row?.position_qty ?? '0',
    openBuyQty: row?.open_buy ?? '0',
    openSellQty: row?.open_sell ?? '0',
    strategyOpenOrders: row?.strategy_open ?? 0,
  };
}

/** A counter row that did not match the orders and positions it counts, as found and as corrected. */
export interface CounterDrift {
  kind: 'symbol' | 'strategy';
  key: string;
  found: string;
  expected: string;
}

/**
 * `exposure` (as the read answers it, each replacement pair counted as the
 * larger of its two open quantities) without the pair of `old` and its
 * replacement of `replacementQty`: a replacement is judged as if the order it
 * replaces were gone. With `replacementQty` null the replacement is not
 * counted (DRY_RUN writes it `dry_run`): only `old` is taken off.
 */
export function withoutReplacedPair(
  exposure: ExposureSnapshot,
  old: { side: 'buy' | 'sell'; qty: string; filledQty: string },
  replacementQty: string | null,
): ExposureSnapshot {
  const oldOpen = Decimal.max(new Decimal(old.qty).minus(old.filledQty), 0);
  const pair = replacementQty === null ? oldOpen : Decimal.max(oldOpen, replacementQty);
  const less = (v: string) => Decimal.max(new Decimal(v).minus(pair), 0).toFixed();
  return {
    ...exposure,
    openBuyQty: old.side === 'buy' ? less(exposure.openBuyQty) : exposure.openBuyQty,
    openSellQty: old.side === 'sell' ? less(exposure.openSellQty) : exposure.openSellQty,
    strategyOpenOrders: Math.max(exposure.strategyOpenOrders - 1, 0),
  };
}

/**
 * What an order's risk limits are checked against: the symbol's position and
 * open orders (all strategies), and the strategy's open orders, read from the
 * exposure counters. The order-entry door inserts the order first, which locks
 * the symbol's counter row, then reads it with `readHeld` in the same
 * transaction; the strategy's count is taken and held to its limit at commit.
 * Two concurrent orders cannot both pass a limit only one of them fits under;
 * a symbol's row is held from the insert to the commit, a strategy's only
 * during the commit (docs/risk-and-safety.md#how-limits-stay-atomic). The
 * legs of a bracket, OTO or OCO are not counted: they only ever exit what
 * their entry (counted) opens, or, for an OCO, one of the pair exits what the
 * OCO order (counted) exits. A reduce-only judgement reads the legs resting
 * on its side apart (`forReduceOnly`, `readClosing`).
 */
@Injectable()
export class ExposureRepository {
  constructor(private readonly ds: DataSource) {}

  /** A read without locks: the committed counters. */
  async read(symbol: string, strategyId: string): Promise<ExposureSnapshot> {
    const rows = await prepared<ExposureRow>(this.ds, 'pretrade_exposure', EXPOSURE, [symbol, strategyId]);
    return toSnapshot(rows[0]);
  }

  /** The counters as `tx` sees them (after an insert, the symbol's row is one `tx` holds locked); sets no limit. */
  async readInTx(tx: Tx, symbol: string, strategyId: string): Promise<ExposureSnapshot> {
    const rows = await prepared<ExposureRow>(tx, 'pretrade_exposure', EXPOSURE, [symbol, strategyId]);
    return toSnapshot(rows[0]);
  }

  /**
   * The counters as `tx` sees them after inserting an open order: the symbol's
   * row is one `tx` holds locked until it ends (the insert's trigger updated it);
   * the strategy's count is the committed one, without this order, which is
   * counted at commit. Sets the open-order limit that count is held to at
   * commit (a count past it fails the commit: `isStrategyLimitError`).
   */
  async readHeld(tx: Tx, symbol: string, strategyId: string, maxOpenOrders: number): Promise<ExposureSnapshot> {
    const rows = await prepared<ExposureRow>(tx, 'pretrade_exposure_held', EXPOSURE_HELD, [
      symbol,
      strategyId,
      String(maxOpenOrders),
    ]);
    return toSnapshot(rows[0]);
  }

  /**
   * `exposure` with the resting exit legs on `side` of `symbol` (src/trading/exit-legs.ts), read in `tx`
   * when given: the unit of work that read the counters, where the order-entry door holds the symbol's counter
   * row. Every change that lets a leg take more off the position (an entry inserted with its legs, a fill
   * of the entry or of a leg) also moves that row, so it waits for the lock; a leg's cancel, which only
   * lowers the count, does not, and the read may still count it (the safe side). Only reduce-only
   * judgements call this: an order that adds exposure never reads the legs.
   */
  async withExitLegs(exposure: ExposureSnapshot, symbol: string, side: OrderSide, tx?: Tx): Promise<ExposureSnapshot> {
    const rows = await prepared<ExitLegRow>(tx ?? this.ds, 'pretrade_exit_legs', EXIT_LEGS, [symbol, side]);
    const qty = restingExitTotal(
      rows.map((r) => ({
        orderClass: r.order_class,
        entryOpen: r.entry_open,
        entryQty: r.entry_qty,
        entryFilledQty: r.entry_filled,
        legsFilledQty: r.legs_filled,
        openLegQty: r.open_leg,
      })),
    );
    return side === 'sell' ? { ...exposure, exitLegSellQty: qty } : { ...exposure, exitLegBuyQty: qty };
  }

  /**
   * The committed counters with the resting exit legs on the side that closes the position (none when flat):
   * what a position close or adjust decides its quantity from.
   */
  async readClosing(symbol: string, strategyId: string): Promise<ExposureSnapshot> {
    const exposure = await this.read(symbol, strategyId);
    const position = new Decimal(exposure.positionQty);
    if (position.isZero()) return exposure;
    return this.withExitLegs(exposure, symbol, position.gt(0) ? 'sell' : 'buy');
  }

  /**
   * `exposure` as the reduce-only judgement of `order` needs it: with the resting exit legs on its side when
   * the order would be reduce-only without them (counting them can only turn that into a no); otherwise
   * unchanged, and nothing is read (an order that adds exposure never reads the legs).
   */
  forReduceOnly(
    order: { symbol: string; side: OrderSide; qty: string },
    exposure: ExposureSnapshot,
    tx?: Tx,
  ): Promise<ExposureSnapshot> {
    if (!isReduceOnly(order, exposure)) return Promise.resolve(exposure);
    return this.withExitLegs(exposure, order.symbol, order.side, tx);
  }

  /**
   * Recomputes every counter from the orders and positions and corrects the
   * rows that differ, answering what it corrected. The counter tables are
   * locked EXCLUSIVE for the transaction: writers that already changed a
   * counter have committed before the recount reads, later ones wait for it.
   */
  async verifyAndRepair(tx: Tx): Promise<CounterDrift[]> {
    await sql(tx, 'LOCK TABLE symbol_exposure, strategy_exposure IN EXCLUSIVE MODE');
    const drift: CounterDrift[] = [];
    const symbols = await sql<{ symbol: string; found: string | null; expected: string; differs: boolean }>(
      tx,
      `SELECT COALESCE(e.symbol, x.symbol) AS symbol,
            e.position_qty::text || '/' || e.open_buy_qty::text || '/' || e.open_sell_qty::text AS found,
            COALESCE(x.position_qty, '0')::numeric::text || '/' || COALESCE(x.open_buy, '0')::numeric::text || '/' ||
              COALESCE(x.open_sell, '0')::numeric::text AS expected,
            (COALESCE(e.position_qty, 0) <> COALESCE(x.position_qty::numeric, 0)
              OR COALESCE(e.open_buy_qty, 0) <> COALESCE(x.open_buy::numeric, 0)
              OR COALESCE(e.open_sell_qty, 0) <> COALESCE(x.open_sell::numeric, 0)) AS differs
          FROM symbol_exposure e FULL JOIN (${SYMBOLS_FROM_ORDERS}) x ON x.symbol = e.symbol`,
    );
    for (const r of symbols) {
      if (!r.differs) continue;
      drift.push({ kind: 'symbol', key: r.symbol, found: r.found ?? 'none', expected: r.expected });
    }
    const strategies = await sql<{ strategy_id: string; found: number | null; expected: number }>(
      tx,
      `SELECT COALESCE(e.strategy_id, x.strategy_id) AS strategy_id, e.open_orders AS found,
            COALESCE(x.open_orders, 0) AS expected
          FROM strategy_exposure e FULL JOIN (${STRATEGIES_FROM_ORDERS}) x ON x.strategy_id = e.strategy_id
          WHERE COALESCE(e.open_orders, 0) <> COALESCE(x.open_orders, 0)`,
    );
    for (const r of strategies) {
      drift.push({
        kind: 'strategy',
        key: r.strategy_id,
        found: String(r.found ?? 'none'),
        expected: String(r.expected),
      });
    }
    if (drift.length) {
      await sql(
        tx,
        `INSERT INTO symbol_exposure (symbol, position_qty, open_buy_qty, open_sell_qty)
           SELECT symbol, position_qty::numeric, open_buy::numeric, open_sell::numeric FROM (${SYMBOLS_FROM_ORDERS}) x
           ON CONFLICT (symbol) DO UPDATE SET position_qty = EXCLUDED.position_qty,
             open_buy_qty = EXCLUDED.open_buy_qty, open_sell_qty = EXCLUDED.open_sell_qty
           WHERE (symbol_exposure.position_qty, symbol_exposure.open_buy_qty, symbol_exposure.open_sell_qty)
             IS DISTINCT FROM (EXCLUDED.position_qty, EXCLUDED.open_buy_qty, EXCLUDED.open_sell_qty)`,
      );
      await sql(
        tx,
        `UPDATE symbol_exposure e SET position_qty = 0, open_buy_qty = 0, open_sell_qty = 0
           WHERE NOT EXISTS (SELECT 1 FROM (${SYMBOLS_FROM_ORDERS}) x WHERE x.symbol = e.symbol)
             AND (position_qty <> 0 OR open_buy_qty <> 0 OR open_sell_qty <> 0)`,
      );
      await sql(
        tx,
        `INSERT INTO strategy_exposure (strategy_id, open_orders)
           SELECT strategy_id, open_orders FROM (${STRATEGIES_FROM_ORDERS}) x
           ON CONFLICT (strategy_id) DO UPDATE SET open_orders = EXCLUDED.open_orders
           WHERE strategy_exposure.open_orders <> EXCLUDED.open_orders`,
      );
      await sql(
        tx,
        `UPDATE strategy_exposure e SET open_orders = 0
           WHERE open_orders <> 0 AND NOT EXISTS (SELECT 1 FROM (${STRATEGIES_FROM_ORDERS}) x WHERE x.strategy_id = e.strategy_id)`,
      );
    }
    return drift;
  }
}
