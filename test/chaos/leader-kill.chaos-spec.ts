/**
 * Chaos: two gateway processes (node dist/src/main.js) on one database and
 * one Redis prefix, trading against the fake Alpaca; under order load the
 * leader is SIGKILLed (docs/runbook.md#chaos-suite). The other replica must
 * take over the singleton jobs (the trade-stream consumer, polling,
 * reconciliation) by itself, keep applying fills, and settle whatever the dead
 * one left half-done; orders are spread over both replicas as a load balancer
 * would, and one whose connection broke is retried on the other replica with
 * the same client_order_id.
 */
import { Client } from 'pg';
import { ensureBuilt, liveGatewayEnv, startGateway, waitUntil, type GatewayProcess } from '../support/crash-gateway';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FakeAlpacaServer } from '../support/fake-alpaca/fake-alpaca.server';
import { deleteRedisKeys, testRedisPrefix } from '../support/redis-keys';
import { eventually } from '../support/wait';
import { accepted, answers, expectInvariants, orderBody, orderLoadVia, report, sleep, SYMBOL } from './chaos-harness';

const ADMIN_KEY = 'chaos-leader-admin-key-0123456789';
const AFTER_KILL_MS = Number(process.env.CHAOS_LEADER_AFTER_KILL_MS ?? 8_000);

async function isLeader(gw: GatewayProcess): Promise<boolean> {
  const res = await fetch(`${gw.baseUrl}/health`, {
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    signal: AbortSignal.timeout(2_000),
  });
  const body = (await res.json()) as { details?: { broker_stream?: { leader?: boolean; state?: string } } };
  const s = body.details?.broker_stream;
  return s?.leader === true && s.state === 'connected';
}

describe('chaos: the leader SIGKILLed under load', () => {
  const fake = new FakeAlpacaServer();
  let db: TestDatabase;
  let pg: Client;
  let prefix: string;
  const gateways: GatewayProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    await fake.start();
    fake.setFillBehaviour({ mode: 'instant' });
    db = await createTestDatabase();
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    prefix = testRedisPrefix('chaos-leader');
    const env = liveGatewayEnv(
      fake,
      { databaseUrl: db.url, redisPrefix: prefix, adminKey: ADMIN_KEY },
      {
        BROKER_SUBMIT_TIMEOUT_MS: '2000',
        ORDER_SUBMIT_RATE_LIMIT: '1000000',
        BROKER_RATE_LIMIT_PER_MINUTE: '100000',
        MAX_OPEN_ORDERS_PER_STRATEGY: '1000000',
      },
    );
    // One after the other: the first leads, the second follows.
    gateways.push(await startGateway(env, 30_000));
    gateways.push(await startGateway(env, 30_000));
  }, 150_000);

  afterAll(async () => {
    await Promise.allSettled(gateways.map((g) => g.kill()));
    await pg?.end();
    await db?.drop();
    await fake.stop();
    if (prefix) await deleteRedisKeys(`${prefix}*`);
  });

  it('the follower takes over the stream, polling and reconciliation; nothing lost, nothing sent twice', async () => {
    const leader = await waitUntil(
      'one leader with its stream connected',
      async () => {
        const flags = await Promise.all(gateways.map(isLeader));
        return flags.filter(Boolean).length === 1 ? gateways[flags.indexOf(true)] : undefined;
      },
      20_000,
      100,
    );
    const survivor = gateways.find((g) => g !== leader)!;
    let dead = false;
    let next = 0;
    const retried = new Set<string>();
    const post = async (gw: GatewayProcess, id: string) => {
      try {
        const res = await fetch(`${gw.baseUrl}/api/v1/orders`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(orderBody(id)),
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await res.json().catch(() => ({}))) as { error?: string };
        return { status: res.status, error: body.error };
      } catch {
        return { status: 0 };
      }
    };
    // Round-robin over the live replicas; a broken connection is retried once on the other, same id.
    const load = orderLoadVia(async (id) => {
      const live = dead ? [survivor] : gateways;
      const gw = live[next++ % live.length];
      const first = await post(gw, id);
      if (first.status !== 0) return first;
      retried.add(id);
      return post(survivor, id);
    }, 'chaos-leader');

    await sleep(3_000);
    // The broker acts but answers late, so the leader dies with submissions in flight: written, maybe at the
    // broker, their answers lost with the process.
    fake.delayResponse(1_500, { route: 'POST /v2/orders' });
    await sleep(1_000);
    await leader.kill();
    dead = true;
    fake.delayResponse(0);
    const killedAt = Date.now();
    await waitUntil('the survivor to lead with its stream connected', () => isLeader(survivor), 30_000, 100);
    const tookOverMs = Date.now() - killedAt;
    const recovered = await load.recovered(killedAt);
    await sleep(AFTER_KILL_MS);
    await load.stop();

    // Reconciliation moved too: the survivor runs it, and finds nothing amiss.
    const run = await fetch(`${survivor.baseUrl}/api/v1/reconciliation/run`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ADMIN_KEY}` },
      signal: AbortSignal.timeout(30_000),
    });
    const status = (await run.json()) as { last_run_ok?: boolean; open_mismatches?: number };
    expect(run.status).toBe(200);
    expect(status).toMatchObject({ last_run_ok: true, open_mismatches: 0 });

    expect(recovered).toBeDefined();
    const inFlightAtKill = retried.size;
    const afterKill = accepted(load.sent.filter((s) => s.at > killedAt + tookOverMs));
    expect(afterKill.length).toBeGreaterThan(10);
    const { atBroker, statuses } = await expectInvariants(
      { fake, query: (sql, p) => pg.query(sql, p).then((r) => r.rows) },
      load.sent,
    );
    // Fills kept being applied after the takeover: every order the broker filled is filled here too.
    const filledAtBroker = fake.orders().filter((o) => o.status === 'filled').length;
    const filledHere = await eventually(
      async () =>
        (await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status = 'filled'`)).rows[0].n,
      (n) => n === filledAtBroker,
      30_000,
    );
    expect(filledHere).toBe(filledAtBroker);
    expect(filledAtBroker).toBe(atBroker);
    const position = (
      await pg.query<{ qty: string }>(`SELECT qty::text AS qty FROM positions WHERE symbol = $1`, [SYMBOL])
    ).rows[0]?.qty;
    report(
      `leader SIGKILLed (${inFlightAtKill} submissions in flight on it): the follower led (stream connected) ${tookOverMs} ms later; first order accepted ` +
        `${recovered!.at - killedAt} ms after the kill; ${load.sent.length} requests, ${atBroker} at the broker, ` +
        `${filledHere} filled here, position ${position}; answers: ${answers(load.sent)}; orders: ${statuses}`,
    );
  }, 120_000);
});
