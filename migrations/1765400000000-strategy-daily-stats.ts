import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Daily aggregates for the performance view and a checkpoint of the
 * strategies' books (docs/strategies-and-pnl.md#daily-performance,
 * docs/strategies-and-pnl.md#per-strategy-books).
 *
 * - strategy_daily_stats: per UTC day and strategy, the orders created, the
 *   `order.rejected` audit rows, the fills with their buy and sell notional,
 *   and the account's realized P&L as recorded on those fills. Kept by
 *   triggers in the same transaction as the write of the order, audit row or
 *   fill (and a rewrite of a fill's realized P&L), so the view reads an index
 *   range instead of grouping every row. Each (day, strategy) is split in
 *   several rows (`slot`): a writer updates one that no other transaction
 *   holds (`FOR UPDATE SKIP LOCKED`), or adds a row when all are held, so it
 *   never waits for a lock here. These counters are written beside the
 *   exposure counters in the same transactions (an order's insert, a batch of
 *   fills): a wait here would close a cycle with them (an order holding its
 *   symbol's row and this one, a fill batch holding its strategy's row and
 *   wanting this one), so they must never wait. Readers sum the slots. Exact
 *   (NUMERIC).
 * - fill_counts: how many fills exist, split the same way (and for the same
 *   reason); with the fills
 *   after a point it tells how many come at or before it without counting
 *   every fill (the books' check for a fill recorded out of order).
 * - strategy_book_checkpoints: the books as one replica last saved them, with
 *   the fill they end at; a replica that starts checks it against the fills
 *   (the same count as above) and extends it instead of replaying every fill.
 *
 * Back-filled from the rows already there.
 */
export class StrategyDailyStats1765400000000 implements MigrationInterface {
  name = 'StrategyDailyStats1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE strategy_daily_stats (
        day                 DATE NOT NULL,
        strategy_id         TEXT NOT NULL,
        slot                SMALLINT NOT NULL,
        orders              INTEGER NOT NULL DEFAULT 0,
        rejections          INTEGER NOT NULL DEFAULT 0,
        fills               INTEGER NOT NULL DEFAULT 0,
        buy_notional        NUMERIC NOT NULL DEFAULT 0,
        sell_notional       NUMERIC NOT NULL DEFAULT 0,
        account_realized_pl NUMERIC NOT NULL DEFAULT 0,
        PRIMARY KEY (day, strategy_id, slot)
      )`);
    await q.query(`CREATE TABLE fill_counts (slot SMALLINT PRIMARY KEY, fills BIGINT NOT NULL DEFAULT 0)`);
    await q.query(`
      CREATE TABLE strategy_book_checkpoints (
        id             SMALLINT PRIMARY KEY CHECK (id = 1),
        fills_applied  BIGINT NOT NULL,
        last_fill_id   BIGINT NOT NULL,
        last_executed_at TIMESTAMPTZ NOT NULL,
        books          JSONB NOT NULL,
        saved_at       TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE FUNCTION strategy_daily_add(d DATE, s TEXT, o INTEGER, r INTEGER, f INTEGER,
                                         buy NUMERIC, sell NUMERIC, realized NUMERIC) RETURNS void
      LANGUAGE plpgsql AS $$
      DECLARE
        sl SMALLINT;
      BEGIN
        -- A slot row no other transaction holds (never a wait: see the class comment).
        SELECT slot INTO sl FROM strategy_daily_stats WHERE day = d AND strategy_id = s
         ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED;
        WHILE sl IS NULL LOOP
          INSERT INTO strategy_daily_stats (day, strategy_id, slot) VALUES (d, s, floor(random() * 32767))
          ON CONFLICT DO NOTHING RETURNING slot INTO sl;
        END LOOP;
        UPDATE strategy_daily_stats
           SET orders = orders + o, rejections = rejections + r, fills = fills + f,
               buy_notional = buy_notional + buy, sell_notional = sell_notional + sell,
               account_realized_pl = account_realized_pl + realized
         WHERE day = d AND strategy_id = s AND slot = sl;
      END $$`);
    await q.query(`
      CREATE FUNCTION fill_counts_add() RETURNS void LANGUAGE plpgsql AS $$
      DECLARE
        sl SMALLINT;
      BEGIN
        SELECT slot INTO sl FROM fill_counts ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED;
        WHILE sl IS NULL LOOP
          INSERT INTO fill_counts (slot, fills) VALUES (floor(random() * 32767), 0)
          ON CONFLICT DO NOTHING RETURNING slot INTO sl;
        END LOOP;
        UPDATE fill_counts SET fills = fills + 1 WHERE slot = sl;
      END $$`);
    await q.query(`
      CREATE FUNCTION strategy_daily_on_order() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM strategy_daily_add((NEW.created_at AT TIME ZONE 'UTC')::date, NEW.strategy_id, 1, 0, 0, 0, 0, 0);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION strategy_daily_on_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.action = 'order.rejected' AND NEW.strategy_id IS NOT NULL THEN
          PERFORM strategy_daily_add((NEW.occurred_at AT TIME ZONE 'UTC')::date, NEW.strategy_id, 0, 1, 0, 0, 0, 0);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION strategy_daily_on_fill() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          PERFORM strategy_daily_add((NEW.executed_at AT TIME ZONE 'UTC')::date, NEW.strategy_id, 0, 0, 1,
                                     CASE WHEN NEW.side = 'buy' THEN NEW.qty * NEW.price ELSE 0 END,
                                     CASE WHEN NEW.side = 'sell' THEN NEW.qty * NEW.price ELSE 0 END,
                                     NEW.realized_pl);
          PERFORM fill_counts_add();
        ELSIF NEW.realized_pl IS DISTINCT FROM OLD.realized_pl THEN
          PERFORM strategy_daily_add((NEW.executed_at AT TIME ZONE 'UTC')::date, NEW.strategy_id, 0, 0, 0, 0, 0,
                                     NEW.realized_pl - OLD.realized_pl);
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER orders_strategy_daily AFTER INSERT ON orders
         FOR EACH ROW EXECUTE FUNCTION strategy_daily_on_order()`);
    await q.query(`
      CREATE TRIGGER audit_log_strategy_daily AFTER INSERT ON audit_log
         FOR EACH ROW WHEN (NEW.action = 'order.rejected' AND NEW.strategy_id IS NOT NULL)
         EXECUTE FUNCTION strategy_daily_on_audit()`);
    await q.query(`
      CREATE TRIGGER fills_strategy_daily AFTER INSERT OR UPDATE OF realized_pl ON fills
         FOR EACH ROW EXECUTE FUNCTION strategy_daily_on_fill()`);
    // Back-fill: slot 0 holds what was there before.
    await q.query(`
      INSERT INTO strategy_daily_stats
             (day, strategy_id, slot, orders, rejections, fills, buy_notional, sell_notional, account_realized_pl)
      SELECT day, strategy_id, 0, SUM(orders), SUM(rejections), SUM(fills), SUM(buy), SUM(sell), SUM(realized)
        FROM (SELECT (created_at AT TIME ZONE 'UTC')::date AS day, strategy_id, 1 AS orders, 0 AS rejections,
                     0 AS fills, 0 AS buy, 0 AS sell, 0 AS realized FROM orders
              UNION ALL
              SELECT (occurred_at AT TIME ZONE 'UTC')::date, strategy_id, 0, 1, 0, 0, 0, 0 FROM audit_log
               WHERE action = 'order.rejected' AND strategy_id IS NOT NULL
              UNION ALL
              SELECT (executed_at AT TIME ZONE 'UTC')::date, strategy_id, 0, 0, 1,
                     CASE WHEN side = 'buy' THEN qty * price ELSE 0 END,
                     CASE WHEN side = 'sell' THEN qty * price ELSE 0 END, realized_pl FROM fills) a
       GROUP BY day, strategy_id`);
    await q.query(`INSERT INTO fill_counts (slot, fills) SELECT 0, count(*) FROM fills`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS fills_strategy_daily ON fills`);
    await q.query(`DROP TRIGGER IF EXISTS audit_log_strategy_daily ON audit_log`);
    await q.query(`DROP TRIGGER IF EXISTS orders_strategy_daily ON orders`);
    await q.query(`DROP FUNCTION IF EXISTS strategy_daily_on_fill()`);
    await q.query(`DROP FUNCTION IF EXISTS strategy_daily_on_audit()`);
    await q.query(`DROP FUNCTION IF EXISTS strategy_daily_on_order()`);
    await q.query(`DROP FUNCTION IF EXISTS fill_counts_add()`);
    await q.query(
      `DROP FUNCTION IF EXISTS strategy_daily_add(DATE, TEXT, INTEGER, INTEGER, INTEGER, NUMERIC, NUMERIC, NUMERIC)`,
    );
    await q.query(`DROP TABLE IF EXISTS strategy_book_checkpoints`);
    await q.query(`DROP TABLE IF EXISTS fill_counts`);
    await q.query(`DROP TABLE IF EXISTS strategy_daily_stats`);
  }
}
