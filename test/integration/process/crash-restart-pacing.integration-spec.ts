/**
 * Broker pacing across a real process crash (docs/broker-pacing.md#restarts-and-replicas):
 * a burst above the broker budget leaves a backlog of orders answered 202 and
 * held in PostgreSQL; the gateway (node dist/src/main.js) is killed with SIGKILL
 * while that backlog exists, then started again on the same database and the
 * same Redis prefix. Every order must reach the (fake) broker exactly once,
 * none lost, and the restarted process must still keep to the shared budget.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { ensureBuilt, liveGatewayEnv, startGateway, waitUntil, type GatewayProcess } from '../../support/crash-gateway';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testRedisPrefix } from '../../support/redis-keys';

const ADMIN_KEY = 'crash-pacing-admin-key-0123456789';
/** The gateway's budget: 4 calls in any 1 s window, so 20 orders at once leave a backlog of several seconds. */
const BUDGET = 4;
const WINDOW_MS = 1_000;
/** The fake broker allows more than the budget, so "never more than the budget in a window" is the gateway's doing. */
const BROKER_LIMIT = 8;
const ORDERS = 20;
const RESOLVED = ['new', 'filled'];

const fake = new FakeAlpacaServer();
const gateways: GatewayProcess[] = [];
let database: TestDatabase | undefined;
let pg: Client | undefined;

interface Row {
  client_order_id: string;
  status: string;
  broker_order_id: string | null;
}

function gatewayEnv(db: TestDatabase): Record<string, string> {
  // One Redis prefix, shared by the crashed process and its successor: the budget's window survives the crash.
  return liveGatewayEnv(
    fake,
    { databaseUrl: db.url, redisPrefix: testRedisPrefix('crash-pacing'), adminKey: ADMIN_KEY },
    {
      BROKER_SUBMIT_TIMEOUT_MS: '2000',
      BROKER_RATE_LIMIT_PER_MINUTE: String(BUDGET),
      BROKER_RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
      ORDER_SUBMIT_RATE_LIMIT: '1000',
      CIRCUIT_BREAKER_ENABLED: 'false',
    },
  );
}

async function placeOrder(gw: GatewayProcess, clientOrderId: string, symbol: string) {
  const res = await fetch(`${gw.baseUrl}/api/v1/orders`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      symbol,
      side: 'buy',
      qty: 1,
      type: 'limit',
      limit_price: '10',
      time_in_force: 'day',
      client_order_id: clientOrderId,
    }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as { status?: string; client_order_id?: string } };
}

async function rows(ids: string[]): Promise<Row[]> {
  const r = await pg!.query<Row>(
    'SELECT client_order_id, status, broker_order_id FROM orders WHERE client_order_id = ANY($1) ORDER BY client_order_id',
    [ids],
  );
  return r.rows;
}

async function acceptedAuditCount(id: string): Promise<number> {
  const r = await pg!.query<{ n: string }>(
    `SELECT count(*) AS n FROM audit_log WHERE client_order_id = $1 AND action = 'order.accepted'`,
    [id],
  );
  return Number(r.rows[0].n);
}

beforeAll(async () => {
  ensureBuilt();
  await fake.start();
}, 130_000);

afterAll(async () => {
  await Promise.allSettled(gateways.map((g) => g.kill()));
  await pg?.end().catch(() => undefined);
  await fake.stop();
  await database?.drop();
});

describe('crash and restart with a paced backlog (real process, fake Alpaca)', () => {
  it('kill -9 with a backlog queued behind the budget → after restart it drains, each order sent once, none lost', async () => {
    database = await createTestDatabase();
    pg = new Client({ connectionString: database.url });
    await pg.connect();
    const env = gatewayEnv(database);
    fake.setFillBehaviour({ mode: 'never' });
    fake.setRateLimit(BROKER_LIMIT, WINDOW_MS);

    const first = await startGateway(env);
    gateways.push(first);
    const tag = randomBytes(3).toString('hex');
    const ids = Array.from({ length: ORDERS }, (_, i) => `crash-p-${tag}-${String(i).padStart(2, '0')}`);
    const answers = await Promise.all(ids.map((id, i) => placeOrder(first, id, `CRP${String.fromCharCode(65 + i)}`)));

    // Every order accepted; those above the budget queued (202 pending_new), held in PostgreSQL.
    expect(answers.filter((a) => a.status !== 201 && a.status !== 202)).toEqual([]);
    const queued = answers.filter((a) => a.status === 202);
    expect(queued.length).toBeGreaterThanOrEqual(ORDERS / 2);
    expect(queued.every((a) => a.body.status === 'pending_new')).toBe(true);

    await first.kill();
    // The backlog existed when the process died: some accepted orders had not reached the broker.
    const unsentAtKill = ids.filter((id) => fake.postOrderCount(id) === 0);
    expect(unsentAtKill.length).toBeGreaterThan(0);
    const crashed = await rows(ids);
    expect(crashed.map((r) => r.client_order_id)).toEqual(ids);
    for (const id of unsentAtKill) {
      expect(crashed.find((r) => r.client_order_id === id)?.status).toBe('pending_new');
    }

    const second = await startGateway(env);
    gateways.push(second);
    const final = await waitUntil(
      'the backlog to drain',
      async () => {
        const r = await rows(ids);
        return r.every((o) => RESOLVED.includes(o.status)) ? r : undefined;
      },
      40_000,
      200,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}: ${JSON.stringify(await rows(ids))}\n--- gateway output ---\n${second.output()}`,
        {
          cause: err,
        },
      );
    });

    for (const r of final) {
      const atBroker = fake.orders().filter((o) => o.client_order_id === r.client_order_id);
      expect({
        id: r.client_order_id,
        posts: fake.postOrderCount(r.client_order_id),
        atBroker: atBroker.length,
      }).toEqual({ id: r.client_order_id, posts: 1, atBroker: 1 });
      expect(r.broker_order_id).toBe(atBroker[0].id);
      expect(await acceptedAuditCount(r.client_order_id)).toBe(1);
    }
    // The broker never refused, and never saw more than the budget in a window, before or after the crash.
    expect(fake.rateLimit.refused).toBe(0);
    expect(fake.rateLimit.maxInWindow).toBeLessThanOrEqual(BUDGET);
    expect(fake.internalErrors()).toEqual([]);
  }, 90_000);
});
