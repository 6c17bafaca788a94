/**
 * The counters kept by triggers (exposure: migration 1765300000000; daily
 * statistics: migration 1765400000000) in the transactions that write orders
 * and fills must never close a lock cycle with each other. Two shapes the
 * live path produced under load (deadlock detected, an order refused and a
 * batch of fills retried one by one), replayed step by step on two
 * connections:
 *
 * 1. a fill batch marks an order filled whose filled quantity was already
 *    written (its open count changes, not its open quantity), then updates the
 *    position, while an order of the same strategy and symbol is inserted and
 *    committed (its strategy slot is claimed at commit);
 * 2. an order's insert holds its strategy's daily row while a fill batch that
 *    holds the strategy's exposure row records a fill of that strategy.
 */
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../../support/database';

const DAY = '2026-03-02T15:00:00Z';

async function client(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  // A wait longer than this is the bug (the deadlock detector would answer after deadlock_timeout).
  await c.query(`SET lock_timeout = '3s'`);
  return c;
}

function insertOrder(c: Client, id: string, status: string, filledQty = '0'): Promise<unknown> {
  return c.query(
    `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status,
                         filled_qty, created_at, updated_at)
     VALUES ($1, 'S', 'XYZ', 'buy', 1, 'market', 'day', $2, $3, $4, $4)`,
    [id, status, filledQty, DAY],
  );
}

describe('counter triggers: lock order between order entry and fill batches (integration)', () => {
  let database: TestDatabase;
  let entry: Client;
  let batch: Client;

  beforeEach(async () => {
    database = await createTestDatabase();
    entry = await client(database.url);
    batch = await client(database.url);
  });

  afterEach(async () => {
    await entry.end();
    await batch.end();
    await database.drop();
  });

  it('an order filled by its status alone takes its symbol row before its strategy row', async () => {
    // o1 is open with its fill already applied (filled_qty = qty): the status change alone closes it.
    await insertOrder(batch, 'o1', 'new', '1');
    await batch.query(`INSERT INTO positions (symbol, qty, avg_entry_price) VALUES ('XYZ', 1, 10)`);

    await batch.query('BEGIN');
    await batch.query(`UPDATE orders SET status = 'filled' WHERE client_order_id = 'o1'`);
    await entry.query('BEGIN');
    // The insert needs the symbol row the batch now holds: it waits (it must not get ahead of the batch).
    const inserted = insertOrder(entry, 'o2', 'pending_new').then(() => entry.query('COMMIT'));
    await new Promise((r) => setTimeout(r, 200));
    await batch.query(`UPDATE positions SET qty = 2 WHERE symbol = 'XYZ'`);
    await batch.query('COMMIT');
    await inserted;

    const counters = await batch.query(
      `SELECT (SELECT open_buy_qty::text FROM symbol_exposure WHERE symbol = 'XYZ') AS open_buy,
              (SELECT position_qty::text FROM symbol_exposure WHERE symbol = 'XYZ') AS position,
              (SELECT open_orders FROM strategy_exposure WHERE strategy_id = 'S') AS open_orders`,
    );
    expect(counters.rows[0]).toEqual({ open_buy: '1', position: '2', open_orders: 1 });
  });

  it("a fill never waits for the daily row an order's insert holds", async () => {
    await insertOrder(batch, 'o1', 'new');
    await entry.query('BEGIN');
    await entry.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status,
                           created_at, updated_at)
       VALUES ('o2', 'S', 'OTHER', 'buy', 1, 'market', 'day', 'pending_new', $1, $1)`,
      [DAY],
    );
    // The entry holds S's daily row for the day (it counted o2). The batch holds S's exposure row and
    // records a fill of S that day: it must take another slot, not wait (the entry waits for the batch's
    // exposure row at commit, so a wait here would be a deadlock).
    await batch.query('BEGIN');
    await batch.query(`UPDATE orders SET status = 'filled', filled_qty = 1 WHERE client_order_id = 'o1'`);
    await batch.query(
      `INSERT INTO fills (execution_id, client_order_id, strategy_id, symbol, side, qty, price, cum_qty, source,
                          executed_at)
       VALUES ('x1', 'o1', 'S', 'XYZ', 'buy', 1, 10, 1, 'stream', $1)`,
      [DAY],
    );
    const committed = entry.query('COMMIT');
    await batch.query('COMMIT');
    await committed;

    const day = await batch.query(
      `SELECT SUM(orders)::int AS orders, SUM(fills)::int AS fills, SUM(buy_notional)::text AS buy
         FROM strategy_daily_stats WHERE strategy_id = 'S' AND day = $1::date`,
      [DAY],
    );
    expect(day.rows[0]).toEqual({ orders: 2, fills: 1, buy: '10' });
    const fills = await batch.query(`SELECT SUM(fills)::int AS n FROM fill_counts`);
    expect(fills.rows[0].n).toBe(1);
  });
});
