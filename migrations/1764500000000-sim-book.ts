import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sim broker's own "exchange" state (BROKER=sim), so its book survives a
 * restart and reconciles with the gateway's orders (docs/simulator.md#durability).
 * These tables belong to the simulator, not to the gateway: gateway code reads
 * them only through the BrokerClient port. Positions and cash are not stored:
 * they are the replay of sim_fills, so two writers never overwrite an aggregate.
 * client_order_id is not unique here: the sim enforces that in its book, and a
 * constraint two replicas' books could both violate would stop every later save.
 */
export class SimBook1764500000000 implements MigrationInterface {
  name = 'SimBook1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sim_orders (
        id              TEXT PRIMARY KEY,
        seq             BIGINT NOT NULL,
        client_order_id TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        side            TEXT NOT NULL,
        type            TEXT NOT NULL,
        time_in_force   TEXT NOT NULL,
        qty             NUMERIC NOT NULL,
        limit_price     NUMERIC,
        stop_price      NUMERIC,
        status          TEXT NOT NULL,
        triggered       BOOLEAN NOT NULL,
        filled_qty      NUMERIC NOT NULL,
        filled_notional NUMERIC NOT NULL,
        created_at      TIMESTAMPTZ NOT NULL,
        updated_at      TIMESTAMPTZ,
        submitted_at    TIMESTAMPTZ,
        filled_at       TIMESTAMPTZ,
        canceled_at     TIMESTAMPTZ,
        replaces        TEXT,
        replaced_by     TEXT
      )`);
    await q.query(`
      CREATE TABLE sim_fills (
        execution_id     TEXT PRIMARY KEY,
        seq              BIGINT NOT NULL,
        order_id         TEXT NOT NULL REFERENCES sim_orders (id),
        symbol           TEXT NOT NULL,
        side             TEXT NOT NULL,
        qty              NUMERIC NOT NULL,
        price            NUMERIC NOT NULL,
        cum_qty          NUMERIC NOT NULL,
        leaves_qty       NUMERIC NOT NULL,
        position_qty     NUMERIC NOT NULL,
        transaction_time TIMESTAMPTZ NOT NULL
      )`);
    await q.query(`
      CREATE TABLE sim_prices (
        symbol     TEXT PRIMARY KEY,
        price      NUMERIC NOT NULL CHECK (price > 0),
        step       BIGINT NOT NULL DEFAULT 0,
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS sim_prices');
    await q.query('DROP TABLE IF EXISTS sim_fills');
    await q.query('DROP TABLE IF EXISTS sim_orders');
  }
}
