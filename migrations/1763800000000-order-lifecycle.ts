import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fills, positions and the order-event outbox (the order lifecycle).
 *
 * - fills: one row per execution. `execution_id` is the broker's id for it
 *   (trade-update execution_id or activity id), unique, so a fill reported by
 *   stream, webhook, poll and activities is applied once. `(client_order_id,
 *   cum_qty)` is unique too: channels that share no id still cannot record the
 *   same cumulative step twice.
 * - positions: per symbol, signed qty, weighted average entry, realized P&L.
 * - order_events: the outbox, written in the same transaction as each state
 *   change and published afterwards (published_at), so a publisher restart
 *   loses nothing.
 */
export class OrderLifecycle1763800000000 implements MigrationInterface {
  name = 'OrderLifecycle1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE fills (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        execution_id    TEXT NOT NULL UNIQUE,
        client_order_id TEXT NOT NULL REFERENCES orders (client_order_id),
        broker_order_id TEXT,
        strategy_id     TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        side            TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
        qty             NUMERIC NOT NULL CHECK (qty > 0),
        price           NUMERIC NOT NULL CHECK (price > 0),
        cum_qty         NUMERIC NOT NULL CHECK (cum_qty > 0),
        realized_pl     NUMERIC NOT NULL DEFAULT 0,
        source          TEXT NOT NULL,
        executed_at     TIMESTAMPTZ NOT NULL,
        recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
        UNIQUE (client_order_id, cum_qty)
      )`);
    await q.query(`CREATE INDEX fills_executed_at_idx ON fills (executed_at)`);
    await q.query(`CREATE INDEX fills_symbol_idx ON fills (symbol, executed_at)`);

    await q.query(`
      CREATE TABLE positions (
        symbol          TEXT PRIMARY KEY,
        qty             NUMERIC NOT NULL DEFAULT 0,
        avg_entry_price NUMERIC NOT NULL DEFAULT 0 CHECK (avg_entry_price >= 0),
        realized_pl     NUMERIC NOT NULL DEFAULT 0,
        current_price   NUMERIC CHECK (current_price IS NULL OR current_price > 0),
        updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
        last_trade_at   TIMESTAMPTZ
      )`);

    await q.query(`
      CREATE TABLE order_events (
        id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        client_order_id TEXT NOT NULL,
        strategy_id     TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        event_type      TEXT NOT NULL,
        status          TEXT NOT NULL,
        payload         JSONB NOT NULL,
        created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
        published_at    TIMESTAMPTZ
      )`);
    await q.query(`CREATE INDEX order_events_unpublished_idx ON order_events (id) WHERE published_at IS NULL`);
    await q.query(`CREATE INDEX order_events_order_idx ON order_events (client_order_id, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE order_events');
    await q.query('DROP TABLE positions');
    await q.query('DROP TABLE fills');
  }
}
