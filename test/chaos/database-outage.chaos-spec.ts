/**
 * Chaos: PostgreSQL unreachable for 10 s under order load (docs/runbook.md).
 * The gateway's database connections go through a TCP proxy the test cuts;
 * orders keep arriving the whole time against the fake Alpaca. Afterwards:
 * no order was sent twice, no accepted order is lost, nothing reached the
 * broker that the gateway does not know, positions equal the broker's, and
 * the gateway recovered by itself (the time to recover is reported).
 */
import { AlpacaBrokerClient } from '../../src/broker/alpaca/alpaca-broker-client';
import { auth, startTestApp, TestApp } from '../support/app';
import { createTestDatabase } from '../support/database';
import { FakeAlpacaServer } from '../support/fake-alpaca/fake-alpaca.server';
import { TcpProxy } from '../support/tcp-proxy';
import { eventually } from '../support/wait';

const OUTAGE_MS = Number(process.env.CHAOS_DB_OUTAGE_MS ?? 10_000);
const SYMBOL = 'CHAOS';

interface Sent {
  id: string;
  status: number;
  error?: string;
  at: number;
}

describe('chaos: PostgreSQL unreachable under load', () => {
  const fake = new FakeAlpacaServer();
  let proxy: TcpProxy;
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    alpaca = new AlpacaBrokerClient({
      keyId: fake.keyId,
      secretKey: fake.secretKey,
      baseUrl: fake.baseUrl,
      streamUrl: fake.streamUrl,
      submitTimeoutMs: 2000,
      requestTimeoutMs: 2000,
      stream: { watchdogMs: 5000, handshakeTimeoutMs: 1000, initialReconnectMs: 50, maxReconnectMs: 200 },
    });
    const pg = new URL(process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
    proxy = new TcpProxy(pg.hostname, Number(pg.port || 5432));
    await proxy.start();
    // The app's own connections go through the proxy; the test's assertion connection does not.
    const database = await createTestDatabase();
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    t = await startTestApp({
      broker: alpaca,
      database,
      env: {
        DATABASE_URL: proxied.toString(),
        DRY_RUN: 'false',
        ORDER_POLL_INTERVAL_SECONDS: '1',
        RECONCILIATION_INTERVAL_SECONDS: '3600',
      },
    });
  }, 60_000);

  afterAll(async () => {
    proxy?.restore();
    await t?.app.close();
    await t?.db.destroy();
    await t?.database.drop();
    await alpaca?.disconnect();
    await fake.stop();
    await proxy?.stop();
  });

  it('loses nothing, sends nothing twice, and recovers by itself', async () => {
    const sent: Sent[] = [];
    let n = 0;
    let stop = false;
    const submit = async () => {
      const id = `chaos-db-${n++}`;
      const res = await t.http
        .post('/api/v1/orders')
        .set(auth)
        .send({ client_order_id: id, symbol: SYMBOL, side: 'buy', qty: 1, strategy_id: 'chaos' })
        .timeout(15_000)
        .catch((err: { status?: number }) => ({ status: err.status ?? 0, body: {} }));
      sent.push({ id, status: res.status, error: (res.body as { error?: string }).error, at: Date.now() });
    };
    const load = (async () => {
      const inFlight = new Set<Promise<void>>();
      while (!stop) {
        const p = submit().finally(() => inFlight.delete(p));
        inFlight.add(p);
        await new Promise((r) => setTimeout(r, 100));
      }
      await Promise.all(inFlight);
    })();

    await new Promise((r) => setTimeout(r, 2_000));
    proxy.cut();
    const cutAt = Date.now();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    proxy.restore();
    const restoredAt = Date.now();
    // Recovered: an order answered 201 after the restore.
    const recovered = await eventually(
      async () => sent.find((s) => s.at > restoredAt && s.status === 201),
      (s) => s !== undefined,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    stop = true;
    await load;

    const accepted = sent.filter((s) => s.status === 200 || s.status === 201 || s.status === 202);
    const during = sent.filter((s) => s.at >= cutAt && s.at <= restoredAt);
    // Never a 500: an unreachable database is a 503 the client may retry with the same id.
    expect(sent.filter((s) => s.status >= 500 && s.status !== 503)).toEqual([]);
    expect(accepted.length).toBeGreaterThan(20);

    // Settled: every order the gateway knows is terminal or open at the broker.
    await eventually(
      async () =>
        (
          await t.db.query(`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending_new', 'submitted_unknown')`)
        )[0].n as number,
      (c) => c === 0,
      30_000,
    );
    const rows: Array<{ client_order_id: string }> = await t.db.query(`SELECT client_order_id FROM orders`);
    const known = new Set(rows.map((r) => r.client_order_id));
    // No accepted order lost.
    expect(accepted.filter((s) => !known.has(s.id))).toEqual([]);
    // Nothing at the broker twice, nothing at the broker the gateway does not know.
    const atBroker = fake.orders().map((o) => o.client_order_id);
    expect(atBroker.length).toBe(new Set(atBroker).size);
    expect(atBroker.filter((id) => !known.has(id))).toEqual([]);
    // Positions equal the broker's once the fills are in.
    const brokerQty = () => fake.positions().find((p) => p.symbol === SYMBOL)?.qty ?? '0';
    await eventually(
      async () =>
        (await t.db.query(`SELECT qty::text AS qty FROM positions WHERE symbol = $1`, [SYMBOL]))[0]?.qty ?? '0',
      (q) => Number(q) === Number(brokerQty()),
      30_000,
    );

    const byStatus = new Map<string, number>();
    for (const s of sent)
      byStatus.set(
        `${s.status} ${s.error ?? ''}`.trim(),
        (byStatus.get(`${s.status} ${s.error ?? ''}`.trim()) ?? 0) + 1,
      );
    process.stderr.write(
      `chaos db outage: ${OUTAGE_MS} ms cut, ${sent.length} requests (${during.length} during the cut), ` +
        `${accepted.length} accepted, ${atBroker.length} at the broker, recovered ${recovered!.at - restoredAt} ms after the restore; answers: ${[...byStatus].map(([k, v]) => `${k} ×${v}`).join(', ')}\n`,
    );
  }, 120_000);
});
