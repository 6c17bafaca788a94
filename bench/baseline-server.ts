/**
 * The bare baseline: plain node:http doing the irreducible work of an order
 * request (parse the JSON body, one Redis GET, one INSERT into PostgreSQL,
 * answer JSON) and nothing else: no framework, no validation, no auth, no
 * logging. The gateway's throughput is read as a fraction of this one's.
 *
 * Started by run.ts as a child process; configured through the environment.
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import Redis from 'ioredis';
import { Pool } from 'pg';

const port = Number(process.env.PORT);
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  // Same size as the gateway's default pool, so neither side wins on connection count.
  max: Number(process.env.DATABASE_POOL_SIZE ?? 20),
});
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', {
  keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'eg_bench:baseline:',
  lazyConnect: true,
});

// Roughly the shape of the gateway's orders row: text keys, a numeric, JSONB and timestamps.
const CREATE_TABLE = `
  CREATE TABLE IF NOT EXISTS baseline_orders (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    client_order_id TEXT PRIMARY KEY,
    strategy_id     TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    side            TEXT NOT NULL,
    qty             NUMERIC NOT NULL,
    order_type      TEXT NOT NULL,
    time_in_force   TEXT NOT NULL,
    status          TEXT NOT NULL,
    metadata        JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
  )`;

const INSERT = `
  INSERT INTO baseline_orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status, metadata)
  VALUES ($1, 'alpha_baseline', $2, $3, $4, 'market', 'day', 'dry_run', $5)
  RETURNING seq, created_at`;

/** Stands in for the state an order path consults in Redis (a kill switch, say). */
const STATE_KEY = 'kill_switch';

interface OrderBody {
  symbol: string;
  side: string;
  qty: number | string;
  idempotency_key: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
  });
  res.end(json);
}

async function submitOrder(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const order = JSON.parse(await readBody(req)) as OrderBody;
  const killSwitch = await redis.get(STATE_KEY);
  const { rows } = await pool.query<{ seq: string; created_at: Date }>(INSERT, [
    order.idempotency_key,
    order.symbol,
    order.side,
    String(order.qty),
    JSON.stringify({ idempotency_key: order.idempotency_key }),
  ]);
  send(res, 201, {
    client_order_id: order.idempotency_key,
    seq: rows[0].seq,
    symbol: order.symbol,
    side: order.side,
    qty: order.qty,
    status: 'dry_run',
    kill_switch: killSwitch,
    created_at: rows[0].created_at,
  });
}

async function ready(res: ServerResponse): Promise<void> {
  await pool.query('SELECT 1');
  await redis.ping();
  send(res, 200, { status: 'ok' });
}

const server = createServer((req, res) => {
  const work =
    req.method === 'POST' && req.url === '/api/v1/orders'
      ? submitOrder(req, res)
      : req.method === 'GET' && req.url === '/health/ready'
        ? ready(res)
        : Promise.resolve(send(res, 404, { error: 'NOT_FOUND' }));
  work.catch((err: unknown) => {
    if (!res.headersSent) send(res, 500, { error: 'INTERNAL', message: (err as Error).message });
  });
});

async function main(): Promise<void> {
  await redis.connect();
  await redis.set(STATE_KEY, 'off', 'PX', 10 * 60_000);
  await pool.query(CREATE_TABLE);
  server.listen(port, '127.0.0.1');
}

function shutdown(): void {
  server.close();
  Promise.allSettled([pool.end(), redis.quit()]).finally(() => process.exit(0));
}

process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
main().catch((err: unknown) => {
  process.stderr.write(`baseline server failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
