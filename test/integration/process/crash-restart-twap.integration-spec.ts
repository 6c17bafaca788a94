/**
 * docs/twap.md#dispatch under a real process crash: a TWAP plan is running in
 * the gateway (node dist/src/main.js, real clock, short intervals) when the
 * process is killed with SIGKILL; a slice falls due while it is down. Started
 * again on the same database, the gateway must finish the plan from its
 * stored schedule: every slice at the (fake) broker exactly once, none lost,
 * and the plan completed with sent_qty = filled_qty = total_qty.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { ensureBuilt, liveGatewayEnv, startGateway, waitUntil, type GatewayProcess } from '../../support/crash-gateway';
import { createTestDatabase, type TestDatabase } from '../../support/database';
import { testRedisPrefix } from '../../support/redis-keys';

const ADMIN_KEY = 'crash-twap-admin-key-0123456789ab';
const SYMBOL = 'CRTW';
/** 1 minute at 6 s: 10 slices, due at 0, 6, …, 54 s after acceptance. */
const INTERVAL_S = 6;
const SLICES = 10;
const QTY = 25; // 3, 3, 3, 3, 3, 2, 2, 2, 2, 2
/** The process is killed once this many slices are at the broker and filled. */
const SENT_BEFORE_KILL = 3;

const fake = new FakeAlpacaServer();
const gateways: GatewayProcess[] = [];
let db: TestDatabase | undefined;
let pg: Client | undefined;

function gatewayEnv(url: string): Record<string, string> {
  return liveGatewayEnv(
    fake,
    { databaseUrl: url, redisPrefix: testRedisPrefix('crash-twap'), adminKey: ADMIN_KEY },
    {
      LIQUIDITY_CHECK_ENABLED: 'false',
      SLICE_MISFIRE_GRACE_SECONDS: '60',
    },
  );
}

interface PlanBody {
  status: string;
  total_qty: number;
  sent_qty: number;
  filled_qty: number;
  shortfall_qty: number | null;
  slices: Array<{ client_order_id: string; status: string; sent_qty: number | null; filled_qty: number }>;
}

async function api(gw: GatewayProcess, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${gw.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

async function childStatuses(parent: string): Promise<Map<string, string>> {
  const r = await pg!.query<{ client_order_id: string; status: string }>(
    'SELECT client_order_id, status FROM orders WHERE parent_order_id = $1',
    [parent],
  );
  return new Map(r.rows.map((row) => [row.client_order_id, row.status]));
}

beforeAll(async () => {
  ensureBuilt();
  await fake.start();
  fake.setFillBehaviour({ mode: 'instant' }, SYMBOL);
  db = await createTestDatabase();
  pg = new Client({ connectionString: db.url });
  await pg.connect();
}, 130_000);

afterAll(async () => {
  await Promise.allSettled(gateways.map((g) => g.kill()));
  await pg?.end().catch(() => undefined);
  await fake.stop();
  await db?.drop();
});

describe('TWAP plan across a crash and restart (real process, fake Alpaca)', () => {
  it('kill -9 mid-plan, a slice due while down → after restart every slice at the broker once, the plan completes', async () => {
    const env = gatewayEnv(db!.url);
    const first = await startGateway(env);
    gateways.push(first);
    const res = await api(first, 'POST', '/api/v1/orders/slice', {
      symbol: SYMBOL,
      side: 'buy',
      qty: QTY,
      duration_minutes: 1,
      interval_seconds: INTERVAL_S,
      idempotency_key: randomBytes(4).toString('hex'),
    });
    expect(res.status).toBe(201);
    const accepted = (await res.json()) as { parent_order_id: string; total_slices: number; created_at: string };
    expect(accepted.total_slices).toBe(SLICES);
    const parent = accepted.parent_order_id;
    const ids = Array.from({ length: SLICES }, (_, i) => `${parent}-s${i}`);
    const acceptedAt = new Date(accepted.created_at).getTime();

    // Mid-plan: the first slices are at the broker and filled (their fills recorded), no call is in flight.
    await waitUntil(
      `${SENT_BEFORE_KILL} slices filled`,
      async () => {
        const st = await childStatuses(parent);
        return ids.slice(0, SENT_BEFORE_KILL).every((id) => st.get(id) === 'filled');
      },
      (SENT_BEFORE_KILL * INTERVAL_S + 10) * 1000,
      50,
    );
    await first.kill();
    const atKill = ids.map((id) => fake.postOrderCount(id));
    const sentAtKill = atKill.filter((n) => n > 0).length;
    expect(sentAtKill).toBeGreaterThanOrEqual(SENT_BEFORE_KILL);
    expect(sentAtKill).toBeLessThan(SLICES - 2); // mid-plan: slices remain for the next process

    // Down until the next slice is due: the restarted process finds it overdue (less than the grace) and sends it.
    const nextDue = acceptedAt + sentAtKill * INTERVAL_S * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, nextDue + 500 - Date.now())));
    expect(fake.postOrderCount(ids[sentAtKill])).toBe(0);

    const second = await startGateway(env);
    gateways.push(second);
    const plan = await waitUntil(
      'the plan to complete',
      async () => {
        const r = await api(second, 'GET', `/api/v1/orders/${parent}/slices`);
        const body = (await r.json()) as PlanBody;
        return body.status === 'completed' ? body : undefined;
      },
      (SLICES * INTERVAL_S + 30) * 1000,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- gateway output ---\n${second.output()}`, { cause: err });
    });

    // Every slice reached the broker exactly once: one POST, one order stored there, one order row here.
    for (const id of ids) {
      expect({
        id,
        posts: fake.postOrderCount(id),
        atBroker: fake.orders().filter((o) => o.client_order_id === id).length,
      }).toEqual({
        id,
        posts: 1,
        atBroker: 1,
      });
    }
    const rows = await childStatuses(parent);
    expect([...rows.keys()].sort()).toEqual([...ids].sort());
    expect(plan.slices.map((s) => s.status)).toEqual(ids.map(() => 'filled'));
    expect(plan).toMatchObject({
      status: 'completed',
      total_qty: QTY,
      sent_qty: QTY,
      filled_qty: QTY,
      shortfall_qty: 0,
    });
    // The slice due during the outage was sent late, by the restarted process, not expired.
    const late = await pg!.query<{ state: string; sent_at: Date; scheduled_time: Date }>(
      'SELECT state, sent_at, scheduled_time FROM twap_slices WHERE client_order_id = $1',
      [ids[sentAtKill]],
    );
    expect(late.rows[0].state).toBe('sent');
    expect(late.rows[0].sent_at.getTime()).toBeGreaterThan(late.rows[0].scheduled_time.getTime());
    expect(fake.internalErrors()).toEqual([]);
  }, 180_000);
});
