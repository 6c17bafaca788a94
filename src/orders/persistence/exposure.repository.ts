import { Injectable } from '@nestjs/common';
import { Decimal } from '../../common/decimal';
import { DataSource } from 'typeorm';
import { prepared, Tx } from '../../infra/database/unit-of-work';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { ExposureSnapshot } from '../../risk/pipeline/pre-trade-checks';

/** Advisory-lock namespaces (first key of the two-key form): one symbol, one strategy. */
const SYMBOL_LOCK_SPACE = 7_342_201;
const STRATEGY_LOCK_SPACE = 7_342_202;

/** The open statuses as a literal list, matching the partial indexes of migration 1764400000000. */
const OPEN_LIST = [...OPEN_STATUSES].map((s) => `'${s}'`).join(', ');

/**
 * A replacement still being sent and the open order it replaces are one
 * exposure, not two: while both are open the pair counts as the larger of the
 * two open quantities (the broker holds buying power for the larger of old and
 * new during a replace) and as one open order.
 */
const OPEN_OF = `CASE WHEN r.client_order_id IS NULL THEN o.qty - o.filled_qty
    ELSE GREATEST(o.qty - o.filled_qty - GREATEST(r.qty - r.filled_qty, 0), 0) END`;

const EXPOSURE = `SELECT
    COALESCE((SELECT qty FROM positions WHERE symbol = $1), 0)::text AS position_qty,
    COALESCE(SUM(${OPEN_OF}) FILTER (WHERE o.symbol = $1 AND o.side = 'buy'), 0)::text AS open_buy,
    COALESCE(SUM(${OPEN_OF}) FILTER (WHERE o.symbol = $1 AND o.side = 'sell'), 0)::text AS open_sell,
    COUNT(*) FILTER (WHERE o.strategy_id = $2 AND r.client_order_id IS NULL)::int AS strategy_open
  FROM orders o
  LEFT JOIN orders r ON r.client_order_id = o.replaces AND r.status IN (${OPEN_LIST})
  WHERE o.status IN (${OPEN_LIST}) AND (o.symbol = $1 OR o.strategy_id = $2)`;

/** A statement of its own: folded into the read, the planner may skip evaluating it when no order matches. */
const LOCK = `SELECT pg_advisory_xact_lock(${SYMBOL_LOCK_SPACE}, hashtext($1)),
  pg_advisory_xact_lock(${STRATEGY_LOCK_SPACE}, hashtext($2))`;

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

/** `exposure` without `order`, an open order (a replacement is judged as if the order it replaces were gone). */
export function withoutOrder(
  exposure: ExposureSnapshot,
  order: { side: 'buy' | 'sell'; qty: string; filledQty: string },
): ExposureSnapshot {
  const open = Decimal.max(new Decimal(order.qty).minus(order.filledQty), 0);
  const less = (v: string) => Decimal.max(new Decimal(v).minus(open), 0).toFixed();
  return {
    ...exposure,
    openBuyQty: order.side === 'buy' ? less(exposure.openBuyQty) : exposure.openBuyQty,
    openSellQty: order.side === 'sell' ? less(exposure.openSellQty) : exposure.openSellQty,
    strategyOpenOrders: Math.max(exposure.strategyOpenOrders - 1, 0),
  };
}

/**
 * What an order's risk limits are checked against: the symbol's position and
 * open orders, and the strategy's open orders. The order-entry door locks and
 * reads them in the unit of work that then inserts the order, holding an
 * advisory lock on the symbol and one on the strategy (always in that order,
 * so two of them cannot deadlock): two concurrent orders cannot both pass a
 * limit only one of them fits under.
 */
@Injectable()
export class ExposureRepository {
  constructor(private readonly ds: DataSource) {}

  /** A read without locks, for orders that can add no open exposure (DRY_RUN). */
  async read(symbol: string, strategyId: string): Promise<ExposureSnapshot> {
    const rows = await prepared<ExposureRow>(this.ds, 'pretrade_exposure', EXPOSURE, [symbol, strategyId]);
    return toSnapshot(rows[0]);
  }

  /** Locks the symbol and the strategy for the rest of `tx` (released at commit or rollback), then reads. */
  async lockAndRead(tx: Tx, symbol: string, strategyId: string): Promise<ExposureSnapshot> {
    await prepared(tx, 'pretrade_lock', LOCK, [symbol, strategyId]);
    const rows = await prepared<ExposureRow>(tx, 'pretrade_exposure', EXPOSURE, [symbol, strategyId]);
    return toSnapshot(rows[0]);
  }
}
