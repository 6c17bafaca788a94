/**
 * The chaos suite's harness: a gateway whose database connections go through
 * a TCP proxy a test can cut, trading against the fake Alpaca; a steady order
 * load; and the invariants checked after each fault (docs/runbook.md#chaos-suite).
 */
import { AlpacaBrokerClient } from '../../src/broker/alpaca/alpaca-broker-client';
import { auth, startTestApp, TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { FakeAlpacaServer, type FillBehaviour } from '../support/fake-alpaca/fake-alpaca.server';
import { TcpProxy } from '../support/tcp-proxy';
import { eventually } from '../support/wait';

export const SYMBOL = 'CHAOS';

export interface Sent {
  id: string;
  status: number;
  error?: string;
  at: number;
}

/** What the invariants look at: the broker (the fake) and the gateway's database. */
export interface Observed {
  fake: FakeAlpacaServer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(sql: string, params?: unknown[]): Promise<any[]>;
}

export interface Chaos extends Observed {
  proxy: TcpProxy;
  t: TestApp;
  close(): Promise<void>;
}

export interface ChaosOptions {
  /** More gateway environment (e.g. REDIS_URL of a redis-server the test restarts). */
  env?: Record<string, string>;
  /** The fake's fills; default none (orders rest open at the broker). */
  fills?: FillBehaviour;
}

export async function startChaos(opts: ChaosOptions = {}): Promise<Chaos> {
  const fake = new FakeAlpacaServer();
  await fake.start();
  if (opts.fills) fake.setFillBehaviour(opts.fills);
  const alpaca = new AlpacaBrokerClient({
    keyId: fake.keyId,
    secretKey: fake.secretKey,
    baseUrl: fake.baseUrl,
    streamUrl: fake.streamUrl,
    submitTimeoutMs: 2000,
    requestTimeoutMs: 2000,
    stream: { watchdogMs: 5000, handshakeTimeoutMs: 1000, initialReconnectMs: 50, maxReconnectMs: 500 },
  });
  const pg = new URL(process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const proxy = new TcpProxy(pg.hostname, Number(pg.port || 5432));
  await proxy.start();
  // The app's own connections go through the proxy; the test's assertion connection does not.
  const database = await createTestDatabase();
  const proxied = new URL(database.url);
  proxied.port = String(proxy.port);
  const t = await startTestApp({
    broker: alpaca,
    database,
    env: {
      DATABASE_URL: proxied.toString(),
      DRY_RUN: 'false',
      ORDER_POLL_INTERVAL_SECONDS: '1',
      RECONCILIATION_INTERVAL_SECONDS: '3600',
      ...opts.env,
    },
  });
  return {
    fake,
    proxy,
    t,
    query: (sql, params) => t.db.query(sql, params),
    async close() {
      proxy.restore();
      await t.app.close();
      await t.db.destroy();
      await database.drop();
      await alpaca.disconnect();
      await fake.stop();
      await proxy.stop();
    },
  };
}

/** The order every load sends: a market buy of one share. */
export const orderBody = (clientOrderId: string) => ({
  client_order_id: clientOrderId,
  symbol: SYMBOL,
  side: 'buy',
  qty: 1,
  strategy_id: 'chaos',
});

/** Sends one order; answers its status (0 when no answer came) and error code. */
export type SendOrder = (clientOrderId: string) => Promise<{ status: number; error?: string }>;

/** Market buys of 1 share every 100 ms with fresh ids until `stop()`; every answer recorded. */
export function orderLoad(t: TestApp, prefix: string) {
  return orderLoadVia(async (id) => {
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send(orderBody(id))
      .timeout(15_000)
      .catch((err: { status?: number }) => ({ status: err.status ?? 0, body: {} }));
    return { status: res.status, error: (res.body as { error?: string }).error };
  }, prefix);
}

/** `orderLoad` through any sender (e.g. fetch against gateway processes). */
export function orderLoadVia(send: SendOrder, prefix: string) {
  const sent: Sent[] = [];
  let n = 0;
  let stopped = false;
  const submit = async () => {
    const id = `${prefix}-${n++}`;
    const res = await send(id);
    sent.push({ id, status: res.status, error: res.error, at: Date.now() });
  };
  const running = (async () => {
    const inFlight = new Set<Promise<void>>();
    while (!stopped) {
      const p = submit().finally(() => inFlight.delete(p));
      inFlight.add(p);
      await sleep(100);
    }
    await Promise.all(inFlight);
  })();
  return {
    sent,
    async stop(): Promise<void> {
      stopped = true;
      await running;
    },
    /** The first order answered 201 after `since`. */
    recovered(since: number, timeoutMs = 60_000): Promise<Sent | undefined> {
      return eventually(
        async () => sent.find((s) => s.at > since && s.status === 201),
        (s) => s !== undefined,
        timeoutMs,
      );
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function accepted(sent: Sent[]): Sent[] {
  return sent.filter((s) => s.status === 200 || s.status === 201 || s.status === 202);
}

/** `201 ×41, 503 SAFETY_STATE_UNAVAILABLE ×100` */
export function answers(sent: Sent[]): string {
  const by = new Map<string, number>();
  for (const s of sent) {
    const k = `${s.status} ${s.error ?? ''}`.trim();
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return [...by].map(([k, v]) => `${k} ×${v}`).join(', ');
}

/**
 * The invariants after a fault: never a 500; every order settled (terminal or
 * open at the broker); no accepted order lost; nothing at the broker twice or
 * unknown to the gateway; the position equal to the broker's.
 */
export async function expectInvariants(c: Observed, sent: Sent[]): Promise<{ atBroker: number; statuses: string }> {
  const { fake } = c;
  expect(sent.filter((s) => s.status >= 500 && s.status !== 503)).toEqual([]);
  const unsettled = await eventually(
    () =>
      c.query(
        `SELECT client_order_id, status, broker_order_id, metadata, updated_at FROM orders
          WHERE status IN ('pending_new', 'submitted', 'submitted_unconfirmed')`,
      ),
    (rows) => rows.length === 0,
    60_000,
  );
  // Every order settled: terminal, or open at the broker (none still on its way or unconfirmed).
  expect(unsettled).toEqual([]);
  const rows: Array<{ client_order_id: string }> = await c.query(`SELECT client_order_id FROM orders`);
  const known = new Set(rows.map((r) => r.client_order_id));
  expect(accepted(sent).filter((s) => !known.has(s.id))).toEqual([]);
  const atBroker = fake.orders().map((o) => o.client_order_id);
  expect(atBroker.length).toBe(new Set(atBroker).size);
  expect(atBroker.filter((id) => !known.has(id))).toEqual([]);
  const brokerQty = () => Number(fake.positions().find((p) => p.symbol === SYMBOL)?.qty ?? '0');
  const localQty = async () =>
    Number((await c.query(`SELECT qty::text AS qty FROM positions WHERE symbol = $1`, [SYMBOL]))[0]?.qty ?? '0');
  const local = await eventually(localQty, (q) => q === brokerQty(), 60_000);
  expect(local).toBe(brokerQty());
  const statuses: Array<{ status: string; n: number }> = await c.query(
    `SELECT status, count(*)::int AS n FROM orders GROUP BY status ORDER BY status`,
  );
  return { atBroker: atBroker.length, statuses: statuses.map((r) => `${r.status} ×${r.n}`).join(', ') };
}

export function report(line: string): void {
  process.stderr.write(`chaos: ${line}\n`);
}
