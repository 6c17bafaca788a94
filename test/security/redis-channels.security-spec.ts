/**
 * Redis channels and deployments (docs/security.md#redis-channels-and-deployments):
 * two deployments (different REDIS_KEY_PREFIX) sharing one Redis never hear
 * each other, every channel carries the deployment's prefix, and a message
 * forged by anyone who can publish to the Redis never reaches an SSE client
 * nor moves the id it resumes from: the stream sends only what the
 * deployment's own outbox holds.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { auth, startTestApp, TEST_REDIS_URL, TestApp } from '../support/app';
import { createKey } from '../support/api-keys';
import { openStream, StreamClient, waitUntil } from '../support/event-stream-client';

const RUN = randomBytes(3).toString('hex');
let a: TestApp;
let b: TestApp;
let attacker: Redis;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestApp(), startTestApp()]);
  attacker = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  attacker?.disconnect();
  await Promise.all([a?.close(), b?.close()]);
});

let seq = 0;
/** Writes an order event to `t`'s outbox (its publisher announces it within ~200 ms); resolves to its id. */
async function writeEvent(t: TestApp, tag: string): Promise<number> {
  const rows: Array<{ id: string }> = await t.db.query(
    `INSERT INTO order_events (client_order_id, strategy_id, symbol, event_type, status, payload)
     VALUES ($1, 'sec_strat', 'SECA', 'order.status', 'new', '{}') RETURNING id`,
    [`sec-${RUN}-${tag}-${++seq}`],
  );
  return Number(rows[0].id);
}

function forged(id: number): string {
  return JSON.stringify({
    id,
    type: 'order.fill',
    client_order_id: `forged-${RUN}`,
    strategy_id: 'sec_strat',
    symbol: 'SECA',
    status: 'filled',
    data: { fill_qty: '1000000', fill_price: '0.01' },
    created_at: new Date().toISOString(),
  });
}

async function publishedAt(t: TestApp, id: number): Promise<Date | null> {
  const rows: Array<{ published_at: Date | null }> = await t.db.query(
    'SELECT published_at FROM order_events WHERE id = $1',
    [id],
  );
  return rows[0].published_at;
}

async function unpublished(t: TestApp): Promise<number> {
  const rows: Array<{ n: number }> = await t.db.query(
    'SELECT count(*)::int AS n FROM order_events WHERE published_at IS NULL',
  );
  return rows[0].n;
}

async function outboxIds(t: TestApp): Promise<string[]> {
  const rows: Array<{ id: string }> = await t.db.query('SELECT id FROM order_events ORDER BY id');
  return rows.map((r) => r.id);
}

const settle = (ms = 400) => new Promise((r) => setTimeout(r, ms));

describe('order events on a shared Redis', () => {
  it('a forged order event, on the bare channel or on the deployment own, reaches no SSE client and moves no Last-Event-ID', async () => {
    expect(a.config.redis.keyPrefix).not.toBe(b.config.redis.keyPrefix);
    const first = await writeEvent(a, 'first');
    await waitUntil(async () => (await publishedAt(a, first)) !== null);
    // Published long ago: a repeat of its id is not news.
    await a.db.query(`UPDATE order_events SET published_at = now() - interval '1 hour' WHERE id = $1`, [first]);
    const stream = await openStream(a, '/api/v1/events');
    let resumed: StreamClient | undefined;
    try {
      expect(stream.status).toBe(200);
      const second = await writeEvent(a, 'second');
      await stream.waitForEvents((e) => e.data.id === second, 1);
      // The next real id, a far one, and a replay of an old one: on the old global channel and on A's own.
      for (const channel of ['orders.events', `${a.config.redis.keyPrefix}orders.events`]) {
        for (const id of [second + 1, second + 1_000_000, first]) await attacker.publish(channel, forged(id));
      }
      await settle();
      expect(stream.events.filter((e) => e.data.client_order_id.startsWith('forged-'))).toEqual([]);
      expect(stream.lastEventId).toBe(String(second));

      // The real next event still arrives, as the outbox holds it, and nothing was skipped.
      const third = await writeEvent(a, 'third');
      await stream.waitForEvents((e) => e.data.id === third, 1);
      expect(stream.events.map((e) => e.id)).toEqual([String(second), String(third)]);
      expect(stream.events.map((e) => String(e.data.id))).toEqual([String(second), String(third)]);
      expect((await outboxIds(a)).filter((id) => Number(id) >= second)).toEqual([String(second), String(third)]);

      // A client resuming from what it holds gets the real events after it.
      const fourth = await writeEvent(a, 'fourth');
      stream.close();
      resumed = await openStream(a, '/api/v1/events', { ...auth, 'Last-Event-ID': stream.lastEventId! });
      const replayed = await resumed.waitForEvents((e) => e.data.id === fourth, 1);
      expect(replayed.map((e) => e.data.client_order_id)).toEqual([`sec-${RUN}-fourth-${seq}`]);
    } finally {
      stream.close();
      resumed?.close();
    }
  });

  it("another deployment's events never reach this deployment's clients", async () => {
    // Nothing of the test before is still on its way.
    await waitUntil(async () => (await unpublished(a)) === 0);
    await settle(300);
    const onA = await openStream(a, '/api/v1/events');
    const onB = await openStream(b, '/api/v1/events');
    try {
      const fromB = await writeEvent(b, 'b');
      await onB.waitForEvents((e) => e.data.id === fromB, 1);
      const fromA = await writeEvent(a, 'a');
      await onA.waitForEvents((e) => e.data.client_order_id.includes('-a-'), 1);
      await settle();
      expect(onA.events.map((e) => e.data.client_order_id)).toEqual([`sec-${RUN}-a-${seq}`]);
      expect(onA.events.map((e) => e.data.id)).toEqual([fromA]);
      expect(onB.events.map((e) => e.data.client_order_id)).toEqual([`sec-${RUN}-b-${seq - 1}`]);
    } finally {
      onA.close();
      onB.close();
    }
  });
});

describe('every channel carries the deployment prefix', () => {
  it('kill switch, API-key revocation and order events are published under the prefix, never on the bare name', async () => {
    const listener = new Redis(TEST_REDIS_URL);
    const heard: Array<{ pattern: string; channel: string }> = [];
    listener.on('pmessage', (pattern: string, channel: string) => heard.push({ pattern, channel }));
    const prefix = a.config.redis.keyPrefix;
    const bare = ['orders.events', 'kill_switch.changes', 'auth.api-keys.revoked'];
    // The bare names are listened to as well: on the starting commit, everything went there.
    await listener.psubscribe(`${prefix}*`, ...bare);
    try {
      const key = await createKey(a, ['VIEW_ORDERS']);
      expect((await a.http.delete(`/api/v1/admin/api-keys/${key.id}`).set(auth)).status).toBe(200);
      const engaged = await a.http
        .post('/api/v1/kill-switch/engage')
        .set(auth)
        .send({ reason: 'probe', operator: 'sec' });
      expect(engaged.status).toBe(200);
      expect((await a.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'sec' })).status).toBe(200);
      await writeEvent(a, 'prefix');
      const want = bare.map((c) => `${prefix}${c}`);
      await waitUntil(() => want.every((c) => heard.some((h) => h.channel === c)));
      expect(heard.filter((h) => bare.includes(h.channel))).toEqual([]);
      expect(heard.every((h) => h.channel.startsWith(prefix))).toBe(true);
    } finally {
      listener.disconnect();
    }
  });
});
