import { MigrationInterface, QueryRunner } from 'typeorm';
import { EXPOSURE_OPEN_STATUSES } from './1765300000000-exposure-counters';

const OPEN = EXPOSURE_OPEN_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * The SQL of exposure_order_change as migration 1765300000000 wrote it, with a guard in its INSERT branch:
 * none; `one`, the guard of the statement's transaction (`exposure.guard`, this migration); or `each`, that
 * or else the inserted order's own, looked up by client_order_id in `exposure.guards` (migration 1765800000000).
 */
export function orderChange(guards: 'none' | 'one' | 'each'): string {
  const guarded = guards !== 'none';
  const ownGuard =
    guards === 'each'
      ? `IF TG_OP = 'INSERT' AND (guard_setting IS NULL OR guard_setting = '') THEN
          -- Several orders inserted in one statement, each under its own guard (a JSON object by client_order_id).
          guard_setting := NULLIF(current_setting('exposure.guards', true), '')::jsonb ->> NEW.client_order_id;
        END IF;
        `
      : '';
  const insertNew = guarded
    ? `${ownGuard}IF new_open AND TG_OP = 'INSERT' AND guard_setting IS NOT NULL AND guard_setting <> '' THEN
          -- A guarded insert (the order-entry door's fast path): the order was judged against the committed
          -- counters; the guard is what the counters must still allow once it is counted, checked on the
          -- row this statement now holds. Past it, the statement fails (EG002) and nothing is written.
          guard := string_to_array(guard_setting, '|');
          INSERT INTO symbol_exposure (symbol, open_buy_qty, open_sell_qty)
            VALUES (NEW.symbol, CASE WHEN NEW.side = 'buy' THEN new_rem ELSE 0 END,
                    CASE WHEN NEW.side = 'sell' THEN new_rem ELSE 0 END)
          ON CONFLICT (symbol) DO UPDATE
            SET open_buy_qty = symbol_exposure.open_buy_qty + EXCLUDED.open_buy_qty,
                open_sell_qty = symbol_exposure.open_sell_qty + EXCLUDED.open_sell_qty
          RETURNING position_qty, open_buy_qty, open_sell_qty INTO pos, open_buy, open_sell;
          -- The largest size the position could project to (replacements paired or not): see exposureGuard.
          reach := CASE WHEN NEW.side = 'buy' THEN GREATEST(pos + open_buy, -(pos + new_rem))
                        ELSE GREATEST(open_sell - pos, pos - new_rem) END;
          IF reach > guard[1]::numeric
             OR (guard[2] <> '' AND reach * guard[2]::numeric > guard[3]::numeric) THEN
            RAISE EXCEPTION 'exposure of % moved past what order % was admitted under', NEW.symbol, NEW.client_order_id
              USING ERRCODE = 'EG002';
          END IF;
        ELSIF new_open THEN`
    : `IF new_open THEN`;
  return `
      CREATE OR REPLACE FUNCTION exposure_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        old_open BOOLEAN := false;
        new_open BOOLEAN := false;
        old_rem  NUMERIC := 0;
        new_rem  NUMERIC := 0;${
          guarded
            ? `
        guard_setting TEXT := current_setting('exposure.guard', true);
        guard TEXT[];
        pos NUMERIC;
        open_buy NUMERIC;
        open_sell NUMERIC;
        reach NUMERIC;`
            : ''
        }
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
        ${insertNew}
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
      $$`;
}

const DEFERRED = 'DEFERRABLE INITIALLY DEFERRED';

/**
 * The order-entry door's fast path (docs/risk-and-safety.md#how-limits-stay-atomic):
 *
 * - The guarded insert. An order that passes the checks against the committed
 *   counters is inserted in a statement of its own that sets `exposure.guard`
 *   for its transaction: `max_size|price|limit_value`, what the order's
 *   symbol's counters must still allow once the order is counted: the order's
 *   reach (the larger of the position with every open order on the order's
 *   side and, the other way, the position with this order alone) at most
 *   max_size shares and, when price is set, worth at most limit_value. The
 *   insert's trigger checks it on the row it has just updated and holds; past
 *   it the statement fails with SQLSTATE EG002 and nothing is written (the door
 *   then judges the order again under the row's lock). So the symbol's row is
 *   held for one statement and its commit, not across round trips.
 * - Counters moved at commit. The triggers that move the counters when an
 *   order is updated (a fill, a status) or a position changes fire at the
 *   commit of the writing transaction (deferred) instead of at each
 *   statement, so a batch of fills holds its symbol's row for its commit only,
 *   not from its first fill on. Committed counters are what every reader
 *   judges against, so nothing reads the difference; rows are still taken
 *   symbol first, then strategy (the deferred events fire in the order of their
 *   statements, each taking its symbol's row before its strategy's). Inserts
 *   stay immediate: the door's locked way reads the row its insert holds.
 */
export class ExposureFastPath1765700000000 implements MigrationInterface {
  name = 'ExposureFastPath1765700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(orderChange('one'));
    await q.query('DROP TRIGGER orders_exposure_update ON orders');
    await q.query(`
      CREATE CONSTRAINT TRIGGER orders_exposure_update AFTER UPDATE OF status, qty, filled_qty, symbol, side, strategy_id
        ON orders ${DEFERRED} FOR EACH ROW EXECUTE FUNCTION exposure_order_change()`);
    await q.query('DROP TRIGGER positions_exposure_update ON positions');
    await q.query(`
      CREATE CONSTRAINT TRIGGER positions_exposure_update AFTER UPDATE OF qty, symbol ON positions ${DEFERRED}
        FOR EACH ROW WHEN (OLD.qty IS DISTINCT FROM NEW.qty OR OLD.symbol IS DISTINCT FROM NEW.symbol)
        EXECUTE FUNCTION exposure_position_change()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER positions_exposure_update ON positions');
    await q.query(`
      CREATE TRIGGER positions_exposure_update AFTER UPDATE OF qty, symbol ON positions
        FOR EACH ROW WHEN (OLD.qty IS DISTINCT FROM NEW.qty OR OLD.symbol IS DISTINCT FROM NEW.symbol)
        EXECUTE FUNCTION exposure_position_change()`);
    await q.query('DROP TRIGGER orders_exposure_update ON orders');
    await q.query(`
      CREATE TRIGGER orders_exposure_update AFTER UPDATE OF status, qty, filled_qty, symbol, side, strategy_id ON orders
        FOR EACH ROW EXECUTE FUNCTION exposure_order_change()`);
    await q.query(orderChange('none'));
  }
}
