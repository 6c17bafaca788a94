/**
 * docs/architecture.md#no-duplicate-broker-order under a real process crash: the gateway (node dist/src/main.js) is
 * killed with SIGKILL while broker calls are in flight, then started again on
 * the same database; the restarted leader must finish every order it finds,
 * with exactly one order at the (fake) broker per client_order_id and nothing
 * answered 2xx lost.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { ensureBuilt, liveGatewayEnv, startGateway, waitUntil, type GatewayProcess } from '../../support/crash-gateway';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testRedisPrefix } from '../../support/redis-keys';

const ADMIN_KEY = 'crash-admin-key-0123456789abcdef';
const SUBMIT_TIMEOUT_MS = 2_000;
/**
 * The process that is killed waits longer for the broker, so a slow machine cannot turn the held calls into
 * timeouts (submitted_unconfirmed, 202) before the kill; its successor resolves with SUBMIT_TIMEOUT_MS.
 */
const CRASHED = { BROKER_SUBMIT_TIMEOUT_MS: '15000' };
/** Far longer than the test: a held request is never answered (stop() drops its timer). */
const HOLD_MS = 120_000;
const RESOLVED = ['new', 'filled'];
const UNRESOLVED = ['pending_new', 'submitted_unconfirmed'];

const fake = new FakeAlpacaServer();
const gateways: GatewayProcess[] = [];
const databases: TestDatabase[] = [];
const clients: Client[] = [];

interface Row {
  client_order_id: string;
  status: string;
  broker_order_id: string | null;
}

function gatewayEnv(db: TestDatabase, redisPrefix: string): Record<string, string> {
  return liveGatewayEnv(
    fake,
    { databaseUrl: db.url, redisPrefix, adminKey: ADMIN_KEY },
    {
      BROKER_SUBMIT_TIMEOUT_MS: String(SUBMIT_TIMEOUT_MS),
      ORDER_SUBMIT_RATE_LIMIT: '1000',
    },
  );
}

/** A database, a Redis prefix shared by the crashed process and its successor, and a pg client for assertions. */
async function scenario(): Promise<{ env: Record<string, string>; pg: Client }> {
  const db = await createTestDatabase();
  databases.push(db);
  const pg = new Client({ connectionString: db.url });
  await pg.connect();
  clients.push(pg);
  return { env: gatewayEnv(db, testRedisPrefix('crash')), pg };
}

async function launch(env: Record<string, string>, overrides: Record<string, string> = {}): Promise<GatewayProcess> {
  const gw = await startGateway({ ...env, ...overrides });
  gateways.push(gw);
  return gw;
}

/** Fire and forget: the process may die under it; resolves with the status, or null when the connection broke. */
function placeOrder(gw: GatewayProcess, clientOrderId: string, symbol: string): Promise<number | null> {
  return fetch(`${gw.baseUrl}/api/v1/orders`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ symbol, side: 'buy', qty: 1, client_order_id: clientOrderId }),
    signal: AbortSignal.timeout(20_000),
  }).then(
    async (res) => {
      await res.arrayBuffer().catch(() => undefined);
      return res.status;
    },
    () => null,
  );
}

async function rows(pg: Client, ids: string[]): Promise<Row[]> {
  const r = await pg.query<Row>(
    'SELECT client_order_id, status, broker_order_id FROM orders WHERE client_order_id = ANY($1) ORDER BY client_order_id',
    [ids],
  );
  return r.rows;
}

async function acceptedAuditCount(pg: Client, id: string): Promise<number> {
  const r = await pg.query<{ n: string }>(
    `SELECT count(*) AS n FROM audit_log WHERE client_order_id = $1 AND action = 'order.accepted'`,
    [id],
  );
  return Number(r.rows[0].n);
}

const atFake = (id: string) => fake.orders().filter((o) => o.client_order_id === id);

/** Waits (bounded) until none of `ids` is pending_new / submitted_unconfirmed any more. */
function waitResolved(pg: Client, ids: string[], gw: GatewayProcess, timeoutMs = 20_000): Promise<Row[]> {
  return waitUntil(
    'every order to be resolved',
    async () => {
      const r = await rows(pg, ids);
      return r.length === ids.length && r.every((o) => !UNRESOLVED.includes(o.status)) ? r : undefined;
    },
    timeoutMs,
    100,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(await rows(pg, ids))}\n--- gateway output ---\n${gw.output()}`, {
      cause: err,
    });
  });
}

beforeAll(async () => {
  ensureBuilt();
  await fake.start();
}, 130_000);

afterEach(() => {
  fake.delayResponse(0);
  fake.unsilenceStream();
});

afterAll(async () => {
  await Promise.allSettled(gateways.map((g) => g.kill()));
  await Promise.allSettled(clients.map((c) => c.end()));
  await fake.stop();
  await Promise.allSettled(databases.map((d) => d.drop()));
});

describe('crash and restart (e2e, real process, fake Alpaca)', () => {
  it.each([
    ['A1: before the broker stored the order', true],
    ['A2: after the broker stored it, unanswered', false],
  ])(
    'kill -9 during the broker call, %s → one broker order after restart',
    async (_name, before) => {
      const { env, pg } = await scenario();
      const id = `crash-${before ? 'a1' : 'a2'}-${randomBytes(4).toString('hex')}`;
      // Hold every order submission: the gateway is stuck inside the broker call.
      fake.delayResponse(HOLD_MS, { route: 'POST /v2/orders', before });

      const first = await launch(env, CRASHED);
      // No stream news for the crashing process either (A2's stored order would emit `new`), so
      // only the restarted process's lookup by client_order_id can resolve the order.
      fake.silenceStream();
      // A symbol of its own: the fake keeps the other scenarios' orders and positions, which this
      // scenario's fresh database never sent, so reconciliation quarantines their symbols.
      const answer = placeOrder(first, id, before ? 'CRSA' : 'CRSB');
      await waitUntil('the broker call to be in flight', async () => fake.postOrderCount(id) === 1, 10_000, 10);
      const [row] = await rows(pg, [id]);
      expect(row.status).toBe('pending_new');
      await first.kill();
      fake.unsilenceStream();
      expect(await answer).toBeNull(); // the client never got an answer
      // A1: the broker never stored it; A2: it did, and nobody heard.
      expect(atFake(id)).toHaveLength(before ? 0 : 1);

      fake.delayResponse(0);
      const second = await launch(env);
      const [final] = await waitResolved(pg, [id], second);

      expect(RESOLVED).toContain(final.status);
      const broker = atFake(id);
      expect(broker).toHaveLength(1);
      expect(final.broker_order_id).toBe(broker[0].id);
      if (before) {
        // Sent again by the restarted leader, with the same id.
        expect(fake.postOrderCount(id)).toBe(2);
      } else {
        // Adopted by lookup (1 POST), or a second POST refused as a duplicate (2): one order either way.
        expect(fake.postOrderCount(id)).toBeLessThanOrEqual(2);
      }
      expect(await acceptedAuditCount(pg, id)).toBe(1);
      expect(fake.internalErrors()).toEqual([]);
    },
    40_000,
  );

  it('kill -9 during a burst of 20 orders → every order resolved, one broker order each, none lost', async () => {
    const { env, pg } = await scenario();
    const tag = randomBytes(3).toString('hex');
    const ids = Array.from({ length: 20 }, (_, i) => `crash-b-${tag}-${String(i).padStart(2, '0')}`);
    // Delays are taken in order: 3 submissions held before the broker stores them,
    // 3 stored but never answered, the other 14 answered at once.
    fake.delayResponse(HOLD_MS, { route: 'POST /v2/orders', before: true, count: 3 });
    fake.delayResponse(HOLD_MS, { route: 'POST /v2/orders', count: 3 });
    const postsBefore = fake.postOrderCount();

    const first = await launch(env, CRASHED);
    const answers = new Map<string, number | null>();
    const sent = ids.map((id, i) =>
      placeOrder(first, id, `BRS${String.fromCharCode(65 + i)}`).then((s) => void answers.set(id, s)),
    );
    await waitUntil(
      'every submission to reach the broker and 14 answers',
      async () => fake.postOrderCount() - postsBefore === 20 && answers.size >= 14,
      10_000,
      10,
    );
    await first.kill();
    await Promise.all(sent);

    const answered2xx = ids.filter((id) => {
      const s = answers.get(id);
      return s !== null && s !== undefined && s >= 200 && s < 300;
    });
    expect(answered2xx).toHaveLength(14);
    expect(ids.filter((id) => answers.get(id) === null)).toHaveLength(6);
    const crashed = await rows(pg, ids);
    expect(crashed.map((r) => r.client_order_id)).toEqual(expect.arrayContaining(answered2xx));

    fake.delayResponse(0);
    const second = await launch(env);
    const final = await waitResolved(pg, ids, second);

    expect(final.map((r) => r.client_order_id)).toEqual(ids);
    for (const r of final) {
      expect({ id: r.client_order_id, status: RESOLVED.includes(r.status) }).toEqual({
        id: r.client_order_id,
        status: true,
      });
      const broker = atFake(r.client_order_id);
      expect({ id: r.client_order_id, atBroker: broker.length }).toEqual({ id: r.client_order_id, atBroker: 1 });
      expect(r.broker_order_id).toBe(broker[0].id);
      expect(await acceptedAuditCount(pg, r.client_order_id)).toBe(1);
    }
    expect(fake.internalErrors()).toEqual([]);
  }, 40_000);
});
