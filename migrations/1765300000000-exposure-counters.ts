import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The open statuses of src/trading/order-state-machine.ts (OPEN_STATUSES), as
 * the counters count them; a unit test keeps the two lists equal.
 */
export const EXPOSURE_OPEN_STATUSES = [
  'pending_new',
  'submitted',
  'submitted_unconfirmed',
  'accepted',
  'new',
  'partially_filled',
  'done_for_day',
  'stopped',
  'suspended',
  'pending_cancel',
  'pending_replace',
  'calculated',
] as const;

const OPEN = EXPOSURE_OPEN_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * Exposure counters for the pre-trade limits (docs/risk-and-safety.md#how-limits-stay-atomic).
 *
 * - symbol_exposure: per symbol, the position (a mirror of positions.qty) and
 *   the unfilled shares of its open buy and sell orders, all strategies;
 * - strategy_exposure: per strategy, its open orders.
 *
 * Triggers keep them in the transaction of every change: an order inserted,
 * its status, quantity or filled quantity changed (fills, cancels, rejects,
 * every terminal status), a position's quantity changed. A change that moves
 * no counter (new → accepted, a mark price) touches no counter row. Rows are
 * always updated symbol first, then strategy (a change of the open count alone
 * still takes the symbol's row first), so two writers cannot deadlock on them. The order-entry door inserts an order, which takes its symbol
 * row's lock, then judges the limits against the row it now holds; the
 * strategy's open-order slot is taken at commit by a deferred trigger that
 * refuses a count past the limit the door set for the transaction
 * (src/order-entry/submit-order.use-case.ts). The gateway verifies the
 * counters against the orders and positions at start (ExposureCountersService).
 * The legs of a bracket, OTO or OCO (leg_type set) are not counted: they only
 * exit what their entry opens (migration 1765200000000 adds the column).
 */
export class ExposureCounters1765300000000 implements MigrationInterface {
  name = 'ExposureCounters1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE symbol_exposure (
        symbol        TEXT PRIMARY KEY,
        position_qty  NUMERIC NOT NULL DEFAULT 0,
        open_buy_qty  NUMERIC NOT NULL DEFAULT 0,
        open_sell_qty NUMERIC NOT NULL DEFAULT 0
      )`);
    await q.query(`
      CREATE TABLE strategy_exposure (
        strategy_id TEXT PRIMARY KEY,
        open_orders INTEGER NOT NULL DEFAULT 0
      )`);
    await q.query(`
      CREATE FUNCTION exposure_symbol_add(sym TEXT, buy NUMERIC, sell NUMERIC) RETURNS void LANGUAGE sql AS $$
        INSERT INTO symbol_exposure (symbol, open_buy_qty, open_sell_qty) VALUES (sym, buy, sell)
        ON CONFLICT (symbol) DO UPDATE
          SET open_buy_qty = symbol_exposure.open_buy_qty + EXCLUDED.open_buy_qty,
              open_sell_qty = symbol_exposure.open_sell_qty + EXCLUDED.open_sell_qty
      $$`);
    await q.query(`
      CREATE FUNCTION exposure_strategy_add(strat TEXT, n INTEGER) RETURNS void LANGUAGE sql AS $$
        INSERT INTO strategy_exposure (strategy_id, open_orders) VALUES (strat, n)
        ON CONFLICT (strategy_id) DO UPDATE SET open_orders = strategy_exposure.open_orders + EXCLUDED.open_orders
      $$`);
    await q.query(`
      CREATE FUNCTION exposure_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        old_open BOOLEAN := false;
        new_open BOOLEAN := false;
        old_rem  NUMERIC := 0;
        new_rem  NUMERIC := 0;
      BEGIN
        IF TG_OP <> 'INSERT' AND OLD.status IN (${OPEN}) AND OLD.leg_type IS NULL THEN
          old_open := true;
          old_rem := OLD.qty - OLD.filled_qty;
        END IF;
        IF TG_OP <> 'DELETE' AND NEW.status IN (${OPEN}) AND NEW.leg_type IS NULL THEN
          new_open := true;
          new_rem := NEW.qty - NEW.filled_qty;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.symbol = NEW.symbol AND OLD.side = NEW.side
           AND OLD.strategy_id = NEW.strategy_id THEN
          -- Symbol first, then strategy: the order every writer takes them in. A change of the open count
          -- alone (a fill applied before its status) still takes the symbol's row first, adding nothing.
          IF old_rem <> new_rem OR old_open <> new_open THEN
            PERFORM exposure_symbol_add(NEW.symbol,
              CASE WHEN NEW.side = 'buy' THEN new_rem - old_rem ELSE 0 END,
              CASE WHEN NEW.side = 'sell' THEN new_rem - old_rem ELSE 0 END);
          END IF;
          IF old_open <> new_open THEN
            PERFORM exposure_strategy_add(NEW.strategy_id, new_open::int - old_open::int);
          END IF;
          RETURN NULL;
        END IF;
        IF old_open THEN
          PERFORM exposure_symbol_add(OLD.symbol,
            CASE WHEN OLD.side = 'buy' THEN -old_rem ELSE 0 END,
            CASE WHEN OLD.side = 'sell' THEN -old_rem ELSE 0 END);
        END IF;
        IF new_open THEN
          PERFORM exposure_symbol_add(NEW.symbol,
            CASE WHEN NEW.side = 'buy' THEN new_rem ELSE 0 END,
            CASE WHEN NEW.side = 'sell' THEN new_rem ELSE 0 END);
        END IF;
        IF old_open THEN
          PERFORM exposure_strategy_add(OLD.strategy_id, -1);
        END IF;
        -- An inserted open order is counted for its strategy at commit (exposure_strategy_claim).
        IF new_open AND TG_OP <> 'INSERT' THEN
          PERFORM exposure_strategy_add(NEW.strategy_id, 1);
        END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER orders_exposure_insert_delete AFTER INSERT OR DELETE ON orders
        FOR EACH ROW EXECUTE FUNCTION exposure_order_change()`);
    await q.query(`
      CREATE TRIGGER orders_exposure_update AFTER UPDATE OF status, qty, filled_qty, symbol, side, strategy_id ON orders
        FOR EACH ROW EXECUTE FUNCTION exposure_order_change()`);
    // An inserted open order takes its strategy's slot at commit: the strategy's row is locked only for
    // the commit itself, so orders of one strategy in different symbols do not wait for each other. When
    // the inserting transaction set exposure.max_open_orders (the order-entry door does), a count past
    // it fails the commit with SQLSTATE EG001 and the order is not written.
    await q.query(`
      CREATE FUNCTION exposure_strategy_claim() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        n     INTEGER;
        limit_setting TEXT := current_setting('exposure.max_open_orders', true);
      BEGIN
        INSERT INTO strategy_exposure (strategy_id, open_orders) VALUES (NEW.strategy_id, 1)
        ON CONFLICT (strategy_id) DO UPDATE SET open_orders = strategy_exposure.open_orders + 1
        RETURNING open_orders INTO n;
        IF limit_setting IS NOT NULL AND limit_setting <> '' AND n > limit_setting::int THEN
          RAISE EXCEPTION 'strategy % has % open orders; the limit is %', NEW.strategy_id, n - 1, limit_setting
            USING ERRCODE = 'EG001', DETAIL = (n - 1)::text;
        END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE CONSTRAINT TRIGGER orders_exposure_strategy_claim AFTER INSERT ON orders
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status IN (${OPEN}) AND NEW.leg_type IS NULL)
        EXECUTE FUNCTION exposure_strategy_claim()`);
    await q.query(`
      CREATE FUNCTION exposure_position_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          UPDATE symbol_exposure SET position_qty = 0 WHERE symbol = OLD.symbol;
          RETURN NULL;
        END IF;
        IF TG_OP = 'UPDATE' AND OLD.symbol <> NEW.symbol THEN
          UPDATE symbol_exposure SET position_qty = 0 WHERE symbol = OLD.symbol;
        END IF;
        INSERT INTO symbol_exposure (symbol, position_qty) VALUES (NEW.symbol, NEW.qty)
        ON CONFLICT (symbol) DO UPDATE SET position_qty = EXCLUDED.position_qty;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER positions_exposure_insert_delete AFTER INSERT OR DELETE ON positions
        FOR EACH ROW EXECUTE FUNCTION exposure_position_change()`);
    await q.query(`
      CREATE TRIGGER positions_exposure_update AFTER UPDATE OF qty, symbol ON positions
        FOR EACH ROW WHEN (OLD.qty IS DISTINCT FROM NEW.qty OR OLD.symbol IS DISTINCT FROM NEW.symbol)
        EXECUTE FUNCTION exposure_position_change()`);
    // Back-fill from what is there now (the migration runs under the migration lock, before any gateway serves).
    await q.query(`LOCK TABLE orders, positions IN SHARE MODE`);
    await q.query(`
      INSERT INTO symbol_exposure (symbol, position_qty, open_buy_qty, open_sell_qty)
      SELECT symbol, SUM(position_qty), SUM(open_buy), SUM(open_sell) FROM (
        SELECT symbol, qty AS position_qty, 0 AS open_buy, 0 AS open_sell FROM positions
        UNION ALL
        SELECT symbol, 0,
          COALESCE(SUM(qty - filled_qty) FILTER (WHERE side = 'buy'), 0),
          COALESCE(SUM(qty - filled_qty) FILTER (WHERE side = 'sell'), 0)
        FROM orders WHERE status IN (${OPEN}) AND leg_type IS NULL GROUP BY symbol
      ) x GROUP BY symbol`);
    await q.query(`
      INSERT INTO strategy_exposure (strategy_id, open_orders)
      SELECT strategy_id, COUNT(*) FROM orders WHERE status IN (${OPEN}) AND leg_type IS NULL GROUP BY strategy_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER IF EXISTS positions_exposure_update ON positions');
    await q.query('DROP TRIGGER IF EXISTS positions_exposure_insert_delete ON positions');
    await q.query('DROP TRIGGER IF EXISTS orders_exposure_strategy_claim ON orders');
    await q.query('DROP TRIGGER IF EXISTS orders_exposure_update ON orders');
    await q.query('DROP TRIGGER IF EXISTS orders_exposure_insert_delete ON orders');
    await q.query('DROP FUNCTION IF EXISTS exposure_position_change()');
    await q.query('DROP FUNCTION IF EXISTS exposure_strategy_claim()');
    await q.query('DROP FUNCTION IF EXISTS exposure_order_change()');
    await q.query('DROP FUNCTION IF EXISTS exposure_strategy_add(TEXT, INTEGER)');
    await q.query('DROP FUNCTION IF EXISTS exposure_symbol_add(TEXT, NUMERIC, NUMERIC)');
    await q.query('DROP TABLE IF EXISTS strategy_exposure');
    await q.query('DROP TABLE IF EXISTS symbol_exposure');
  }
}
