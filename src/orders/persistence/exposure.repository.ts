import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { prepared, Tx } from '../../infra/database/unit-of-work';
import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { ExposureSnapshot } from '../../risk/pipeline/pre-trade-checks';

/** Advisory-lock namespaces (first key of the two-key form): one symbol, one strategy. */
const SYMBOL_LOCK_SPACE = 7_342_201;
const STRATEGY_LOCK_SPACE = 7_342_202;

/** The open statuses as a literal list, matching the partial indexes of migration 1764400000000. */
const OPEN_LIST = [...OPEN_STATUSES].map((s) => `'${s}'`).join(', ');

const EXPOSURE = `SELECT
    COALESCE((SELECT qty FROM positions WHERE symbol = $1), 0)::text AS position_qty,
    COALESCE(SUM(qty - filled_qty) FILTER (WHERE symbol = $1 AND side = 'buy'), 0)::text AS open_buy,
    COALESCE(SUM(qty - filled_qty) FILTER (WHERE symbol = $1 AND side = 'sell'), 0)::text AS open_sell,
    COUNT(*) FILTER (WHERE strategy_id = $2)::int AS strategy_open
  FROM orders
  WHERE status IN (${OPEN_LIST}) AND (symbol = $1 OR strategy_id = $2) AND leg_type IS NULL`;

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

/**
 * What an order's risk limits are checked against: the symbol's position and
 * open orders, and the strategy's open orders. The legs of a bracket, OTO or
 * OCO are not counted: they only ever exit what their entry (counted) opens,
 * or, for an OCO, one of the pair exits what the OCO order (counted) exits. The order-entry door locks and
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
