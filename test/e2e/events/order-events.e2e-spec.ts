import { randomBytes } from 'node:crypto';
import http from 'node:http';
import Redis from 'ioredis';
import { hashApiKey } from '../../../src/auth/api-key.service';
import { OrderEventPublisher } from '../../../src/events/order-event.publisher';
import { RedisStateStore } from '../../../src/infra/state/redis-state-store';
import { ApplyOrderUpdateUseCase, OrderUpdateReport } from '../../../src/orders/use-cases/apply-order-update.use-case';
import { auth, startTestApp, TEST_REDIS_URL, TestApp } from '../../support/app';
import { createTestDatabase } from '../../support/database';
import { expectError, expectInvalidFields } from '../../support/http-expect';
import { testRedisPrefix } from '../../support/redis-keys';

/**
 * docs/order-lifecycle.md: order events go to an outbox in the order's transaction and from
 * there to Redis `orders.events` and to GET /api/v1/events; a publisher
 * restart loses none, and replicas publish each event once.
 *
 * Every test app has a key prefix of its own (`eg_test:<random>:`), and the
 * channel carries it (`<prefix>orders.events`), so the listener below hears
 * every test app's channel through a pattern; every assertion here looks only
 * at this run's orders (RUN in their ids and strategies).
 */
const CHANNEL_PATTERN = 'eg_test:*:orders.events';
const RUN = randomBytes(3).toString('hex');
const STRAT_A = `ev_a_${RUN}`;
const STRAT_B = `ev_b_${RUN}`;

interface EventMessage {
  id: number;
  type: string;
  client_order_id: string;
  strategy_id: string;
  symbol: string;
  status: string;
  data: Record<string, unknown>;
  created_at: string;
}

describe('order events: outbox, Redis orders.events, SSE (e2e)', () => {
  let t: TestApp;
  let apply: ApplyOrderUpdateUseCase;
  let listener: Redis;
  const onChannel: EventMessage[] = [];
  let seq = 0;

  beforeAll(async () => {
    listener = new Redis(TEST_REDIS_URL);
    listener.on('pmessage', (_pattern: string, _channel: string, raw: string) => {
      const m = JSON.parse(raw) as EventMessage;
      if (m.client_order_id.includes(RUN)) onChannel.push(m);
    });
    await listener.psubscribe(CHANNEL_PATTERN);
    t = await startTestApp();
    apply = t.app.get(ApplyOrderUpdateUseCase);
  });
  afterAll(async () => {
    await t?.close();
    listener?.disconnect();
  });

  /** A submitted order, as if the broker path had sent it. */
  async function submittedOrder(app: TestApp, symbol: string, strategyId = STRAT_A): Promise<string> {
    const id = `ev-${RUN}-${++seq}`;
    await app.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status)
       VALUES ($1, $2, $3, 'buy', '10', 'market', 'day', 'submitted')`,
      [id, strategyId, symbol],
    );
    return id;
  }

  function report(clientOrderId: string, symbol: string, status: string, filled = '0'): OrderUpdateReport {
    return {
      source: 'stream',
      at: new Date(),
      order: {
        id: `b-${clientOrderId}`,
        clientOrderId,
        symbol,
        side: 'buy',
        type: 'market',
        timeInForce: 'day',
        qty: '10',
        limitPrice: null,
        stopPrice: null,
        status,
        filledQty: filled,
        filledAvgPrice: filled === '0' ? null : '5',
        createdAt: new Date(),
        updatedAt: null,
        submittedAt: null,
        filledAt: null,
        canceledAt: null,
        replacedBy: null,
        replaces: null,
      },
      execution: filled === '0' ? null : { executionId: `x-${clientOrderId}`, qty: filled, price: '5' },
    };
  }

  const eventRows = async (app: TestApp, clientOrderId: string) =>
    app.db.query<Array<{ id: string; event_type: string; published_at: Date | null }>>(
      'SELECT id, event_type, published_at FROM order_events WHERE client_order_id = $1 ORDER BY id',
      [clientOrderId],
    );

  it('publishes each outbox row to Redis orders.events with the documented fields, then marks it published', async () => {
    const id = await submittedOrder(t, 'EVA');
    await apply.apply(report(id, 'EVA', 'filled', '10'));
    await waitFor(async () => (await eventRows(t, id)).every((r) => r.published_at !== null));
    const rows: Array<Record<string, unknown>> = await t.db.query(
      `SELECT id, client_order_id, strategy_id, symbol, event_type, status, payload, created_at
         FROM order_events WHERE client_order_id = $1 ORDER BY id`,
      [id],
    );
    expect(rows.map((r) => r.event_type)).toEqual(['order.fill', 'order.status']);
    await waitFor(async () => onChannel.filter((m) => m.client_order_id === id).length === 2);
    const messages = onChannel.filter((m) => m.client_order_id === id);
    expect(messages).toEqual(
      rows.map((r) => ({
        id: Number(r.id),
        type: r.event_type,
        client_order_id: id,
        strategy_id: STRAT_A,
        symbol: 'EVA',
        status: r.status,
        data: r.payload,
        created_at: (r.created_at as Date).toISOString(),
      })),
    );
    expect(messages[1]).toMatchObject({ status: 'filled', data: { previous_status: 'submitted' } });
  });

  it('streams events live over SSE with id, event and data lines', async () => {
    const stream = await openStream(t, `/api/v1/events?strategy_id=${STRAT_A}`);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(stream.headers['cache-control']).toMatch(/no-cache/);
      expect(stream.headers['x-request-id']).toBeTruthy();
      const id = await submittedOrder(t, 'EVB');
      await apply.apply(report(id, 'EVB', 'new'));
      const [frame] = await stream.waitForEvents((e) => e.data.client_order_id === id, 1);
      expect(frame.event).toBe('order.status');
      expect(frame.id).toBe(String(frame.data.id));
      expect(frame.data).toMatchObject({ type: 'order.status', client_order_id: id, symbol: 'EVB', status: 'new' });
      expect(stream.retry).toBeGreaterThan(0);
    } finally {
      stream.close();
    }
  });

  it('replays the events after Last-Event-ID (or since_id), then goes live, sending none twice', async () => {
    const id = await submittedOrder(t, 'EVC');
    await apply.apply(report(id, 'EVC', 'new'));
    await apply.apply(report(id, 'EVC', 'partially_filled', '4'));
    const earlier = await eventRows(t, id);
    expect(earlier).toHaveLength(3);
    const before = Number(earlier[0].id) - 1;

    // One more written while nothing publishes: the replay has it, and its later publication is not sent again.
    const publisher = t.app.get(OrderEventPublisher);
    await publisher.stop();
    try {
      await apply.apply(report(id, 'EVC', 'filled', '10'));
      const all = await eventRows(t, id);
      expect(all.at(-1)!.published_at).toBeNull();

      const resumed = await openStream(t, `/api/v1/events?symbol=evc`, { 'Last-Event-ID': String(before) });
      const bySince = await openStream(t, `/api/v1/events?symbol=EVC&since_id=${earlier[1].id}`);
      try {
        const replayed = await resumed.waitForEvents((e) => e.data.client_order_id === id, all.length);
        expect(replayed.map((e) => e.id)).toEqual(all.map((r) => r.id));
        expect((await bySince.waitForEvents(() => true, all.length - 2)).map((e) => e.id)).toEqual(
          all.slice(2).map((r) => r.id),
        );

        publisher.start();
        await waitFor(async () => (await eventRows(t, id)).every((r) => r.published_at !== null));
        const next = await submittedOrder(t, 'EVC');
        await apply.apply(report(next, 'EVC', 'new'));
        await resumed.waitForEvents((e) => e.data.client_order_id === next, 1);
        await bySince.waitForEvents((e) => e.data.client_order_id === next, 1);
        // Events at or below since_id that were published late are not sent to the client that has them.
        expect(bySince.events.every((e) => Number(e.id) > Number(earlier[1].id))).toBe(true);
        const seen = resumed.events.filter((e) => e.data.client_order_id.includes(RUN)).map((e) => e.id);
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toHaveLength(all.length + 1);
      } finally {
        resumed.close();
        bySince.close();
      }
    } finally {
      publisher.start();
    }
  });

  it('keeps a key within its strategies and applies the symbol filter', async () => {
    const scopedKey = `eg_scoped_${RUN}_0123456789`;
    await t.db.query(
      `INSERT INTO api_keys (name, key_hash, key_prefix, permissions, strategies, created_by)
       VALUES ('scoped', $1, 'eg_scoped', $2, $3, 'test'), ('no-view', $4, 'eg_noview', $5, $6, 'test')`,
      [hashApiKey(scopedKey), ['VIEW_ORDERS'], [STRAT_B], hashApiKey(`${scopedKey}-nv`), ['SUBMIT_ORDER'], ['*']],
    );
    const scoped = { Authorization: `Bearer ${scopedKey}` };

    expectError(await t.http.get(`/api/v1/events?strategy_id=${STRAT_A}`).set(scoped), 403, 'STRATEGY_FORBIDDEN');
    expectError(await t.http.get('/api/v1/events').set('X-API-Key', `${scopedKey}-nv`), 403, 'PERMISSION_DENIED');
    expectError(await t.http.get('/api/v1/events'), 401, 'UNAUTHENTICATED');
    expectInvalidFields(await t.http.get('/api/v1/events?symbol=not+a+symbol&strategy_id=a%20b').set(auth), [
      'symbol',
      'strategy_id',
    ]);
    expectInvalidFields(await t.http.get('/api/v1/events?since_id=-1').set(auth), ['since_id']);
    expectInvalidFields(await t.http.get('/api/v1/events').set(auth).set('Last-Event-ID', 'abc'), ['Last-Event-ID']);

    const mine = await openStream(t, '/api/v1/events', scoped);
    const symbolOnly = await openStream(t, '/api/v1/events?symbol=EVD2');
    try {
      const a = await submittedOrder(t, 'EVD1', STRAT_A);
      const b = await submittedOrder(t, 'EVD2', STRAT_B);
      await apply.apply(report(a, 'EVD1', 'new'));
      await apply.apply(report(b, 'EVD2', 'new'));
      await mine.waitForEvents((e) => e.data.client_order_id === b, 1);
      await symbolOnly.waitForEvents((e) => e.data.client_order_id === b, 1);
      // Both events went out together; by the time b arrived, a would have too.
      await waitFor(async () => onChannel.some((m) => m.client_order_id === a));
      await new Promise((r) => setTimeout(r, 100));
      expect(mine.events.every((e) => e.data.strategy_id === STRAT_B)).toBe(true);
      expect(symbolOnly.events.every((e) => e.data.symbol === 'EVD2')).toBe(true);
    } finally {
      mine.close();
      symbolOnly.close();
    }
  });

  it('channel names carry the key prefix; a store subscription ends on unsubscribe and close', async () => {
    const storePrefix = testRedisPrefix('ev');
    const store = await RedisStateStore.connect(TEST_REDIS_URL, storePrefix);
    const bare = `eg-test-channel-${RUN}`;
    const channel = `${storePrefix}${bare}`;
    expect(store.channelName(bare)).toBe(channel);
    const raw = new Redis(TEST_REDIS_URL);
    const rawSeen: string[] = [];
    raw.on('message', (_c: string, m: string) => rawSeen.push(m));
    await raw.subscribe(channel, bare);
    try {
      const got: string[] = [];
      const unsubscribe = await store.subscribe(bare, (m) => got.push(m));
      await store.publish(bare, 'one');
      await waitFor(async () => got.length === 1 && rawSeen.length === 1);
      await unsubscribe();
      await store.publish(bare, 'two');
      await waitFor(async () => rawSeen.length === 2);
      await new Promise((r) => setTimeout(r, 50));
      expect(got).toEqual(['one']);
      expect(rawSeen).toEqual(['one', 'two']);
      await store.subscribe(bare, () => undefined);
      await store.close();
      const probe = new Redis(TEST_REDIS_URL);
      const [, subscribers] = (await probe.call('PUBSUB', 'NUMSUB', channel).finally(() => probe.disconnect())) as [
        string,
        number,
      ];
      // Only `raw` is left; and nothing was ever sent on the bare name, which `raw` also listens to.
      expect(subscribers).toBe(1);
    } finally {
      raw.disconnect();
    }
  });

  it('a publisher restart loses none, and open streams end on shutdown', async () => {
    const database = await createTestDatabase();
    try {
      const first = await startTestApp({ database });
      await first.app.get(OrderEventPublisher).stop();
      const ids = [await submittedOrder(first, 'EVR'), await submittedOrder(first, 'EVR')];
      const firstApply = first.app.get(ApplyOrderUpdateUseCase);
      for (const id of ids) await firstApply.apply(report(id, 'EVR', 'filled', '10'));
      const pending = await first.db.query<unknown[]>(
        'SELECT 1 FROM order_events WHERE published_at IS NULL AND client_order_id = ANY($1)',
        [ids],
      );
      expect(pending).toHaveLength(4);
      const stream = await openStream(first, '/api/v1/events');
      await first.close();
      await waitFor(async () => stream.ended);
      expect(onChannel.filter((m) => ids.includes(m.client_order_id))).toEqual([]);

      const second = await startTestApp({ database });
      try {
        await waitFor(async () => onChannel.filter((m) => ids.includes(m.client_order_id)).length === 4);
        // Messages go out just before published_at commits, so the rows may trail the channel briefly.
        const published = async () =>
          second.db.query<unknown[]>(
            'SELECT 1 FROM order_events WHERE published_at IS NOT NULL AND client_order_id = ANY($1)',
            [ids],
          );
        await waitFor(async () => (await published()).length === 4);
        expect(await published()).toHaveLength(4);
      } finally {
        await second.close();
      }
    } finally {
      await database.drop();
    }
  }, 15_000);

  it('two replicas draining one backlog publish every event exactly once, in id order', async () => {
    const database = await createTestDatabase();
    const tag = `ev-${RUN}-backlog`;
    const backlog = 450;
    try {
      const seed = await startTestApp({ database });
      await seed.app.get(OrderEventPublisher).stop();
      await seed.db.query(
        `INSERT INTO order_events (client_order_id, strategy_id, symbol, event_type, status, payload)
         SELECT $1 || '-' || n, $2, 'EVX', 'order.status', 'new', jsonb_build_object('n', n)
           FROM generate_series(1, $3::int) AS n`,
        [tag, STRAT_A, backlog],
      );
      await seed.close();

      const replicas = await Promise.all([startTestApp({ database }), startTestApp({ database })]);
      try {
        await waitFor(async () => onChannel.filter((m) => m.client_order_id.startsWith(tag)).length >= backlog);
        await new Promise((r) => setTimeout(r, 300));
        const ids = onChannel.filter((m) => m.client_order_id.startsWith(tag)).map((m) => m.id);
        expect(ids).toHaveLength(backlog);
        expect(new Set(ids).size).toBe(backlog);
        expect(ids).toEqual([...ids].sort((x, y) => x - y));
        const [{ n }] = await replicas[0].db.query<Array<{ n: number }>>(
          'SELECT count(*)::int AS n FROM order_events WHERE published_at IS NULL',
        );
        expect(n).toBe(0);
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
      }
    } finally {
      await database.drop();
    }
  }, 15_000);
});

interface Frame {
  id?: string;
  event?: string;
  data: EventMessage;
}

interface StreamClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: Frame[];
  retry?: number;
  ended: boolean;
  waitForEvents(match: (e: Frame) => boolean, count: number): Promise<Frame[]>;
  close(): void;
}

/** A minimal EventSource: parses frames as they arrive. */
function openStream(app: TestApp, path: string, headers: Record<string, string> = {}): Promise<StreamClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      new URL(path, app.baseUrl),
      { headers: { Accept: 'text/event-stream', ...auth, ...headers } },
      (res) => {
        const client: StreamClient = {
          status: res.statusCode ?? 0,
          headers: res.headers,
          events: [],
          ended: false,
          async waitForEvents(match, count) {
            await waitFor(async () => client.events.filter(match).length >= count);
            return client.events.filter(match);
          },
          close: () => req.destroy(),
        };
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const frame: Partial<Frame> & { dataText?: string } = {};
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) continue;
              const [field, ...rest] = line.split(': ');
              const value = rest.join(': ');
              if (field === 'id') frame.id = value;
              else if (field === 'event') frame.event = value;
              else if (field === 'data') frame.dataText = value;
              else if (field === 'retry') client.retry = Number(value);
            }
            if (frame.dataText !== undefined) {
              client.events.push({
                id: frame.id,
                event: frame.event,
                data: JSON.parse(frame.dataText) as EventMessage,
              });
            }
          }
        });
        res.on('end', () => (client.ended = true));
        res.on('close', () => (client.ended = true));
        res.on('error', () => undefined);
        resolve(client);
      },
    );
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
  });
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}
