/**
 * Reading orders (docs/api.md): the list is newest first, filters by status,
 * symbol, strategy and time range, and pages with an opaque cursor that visits
 * every row exactly once; one order comes back as a full OrderDetail.
 */
import { createHash } from 'node:crypto';
import { ManualClock } from '../../../src/infra/clock/clock';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectError } from '../../support/http-expect';

const ORDERS = '/api/v1/orders';
const T0 = Date.parse('2026-04-01T13:00:00.000Z');
const at = (minute: number): string => new Date(T0 + minute * 60_000).toISOString();

interface Detail {
  client_order_id: string;
  strategy_id: string;
  symbol: string;
  status: string;
  qty: number;
  created_at: string;
  [k: string]: unknown;
}
interface Page {
  orders: Detail[];
  next_cursor: string | null;
}

/** One seeded order: minute i, AAPL on even i and MSFT on odd, strategy beta_1 on every third. */
interface Seeded {
  id: string;
  minute: number;
  symbol: string;
  strategy: string;
  status: string;
}

const DETAIL_FIELDS = [
  'client_order_id',
  'strategy_id',
  'symbol',
  'side',
  'qty',
  'order_type',
  'limit_price',
  'stop_price',
  'time_in_force',
  'status',
  'broker_order_id',
  'error_message',
  'retry_count',
  'created_at',
  'updated_at',
  'submitted_at',
  'filled_at',
  'filled_qty',
  'filled_avg_price',
  'metadata',
  'parent_order_id',
  'slice_num',
  'total_slices',
  'scheduled_time',
];

describe('orders query API (e2e)', () => {
  const clock = new ManualClock(new Date(T0));
  let t: TestApp;
  const seeded: Seeded[] = [];
  const FILLED_ID = 'filled-by-broker-1';

  beforeAll(async () => {
    t = await startTestApp({ clock });
    for (let i = 0; i < 25; i++) {
      clock.set(at(i));
      const symbol = i % 2 === 0 ? 'AAPL' : 'MSFT';
      const strategy = i % 3 === 0 ? 'beta_1' : 'alpha_baseline';
      const res = await t.http
        .post(ORDERS)
        .set(auth)
        .send({ symbol, side: 'buy', qty: i + 1, ...(strategy === 'beta_1' ? { strategy_id: strategy } : {}) });
      if (res.status !== 201) throw new Error(`seed order ${i}: ${res.status} ${res.text}`);
      seeded.push({ id: res.body.client_order_id, minute: i, symbol, strategy, status: 'dry_run' });
    }
    // An order in another status, as the broker channels will leave them.
    await t.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status,
                           broker_order_id, created_at, updated_at, submitted_at, filled_at, filled_qty, filled_avg_price)
       VALUES ($1, 'alpha_baseline', 'AAPL', 'sell', 10, 'market', 'day', 'filled', 'b-123',
               $2, $3, $2, $3, 10, 101.25)`,
      [FILLED_ID, at(25), at(26)],
    );
    seeded.push({ id: FILLED_ID, minute: 25, symbol: 'AAPL', strategy: 'alpha_baseline', status: 'filled' });
  });
  afterAll(async () => {
    await t?.close();
  });

  const newestFirst = (rows: Seeded[]): string[] =>
    rows
      .slice()
      .sort((a, b) => b.minute - a.minute)
      .map((r) => r.id);

  async function list(query: string): Promise<Page> {
    const res = await t.http.get(`${ORDERS}${query ? `?${query}` : ''}`).set(auth);
    if (res.status !== 200) throw new Error(`GET ?${query}: ${res.status} ${res.text}`);
    return res.body as Page;
  }

  async function walk(query: string, limit: number): Promise<{ sizes: number[]; ids: string[] }> {
    const sizes: number[] = [];
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let guard = 0; guard < 50; guard++) {
      const page: Page = await list(
        [query, `limit=${limit}`, cursor ? `cursor=${encodeURIComponent(cursor)}` : ''].filter(Boolean).join('&'),
      );
      sizes.push(page.orders.length);
      ids.push(...page.orders.map((o) => o.client_order_id));
      cursor = page.next_cursor;
      if (cursor === null) return { sizes, ids };
      expect(typeof cursor).toBe('string');
    }
    throw new Error('pagination did not end');
  }

  it('lists every order newest first, with the default page size', async () => {
    const page = await list('');
    expect(page.next_cursor).toBeNull();
    expect(page.orders.map((o) => o.client_order_id)).toEqual(newestFirst(seeded));
    const times = page.orders.map((o) => Date.parse(o.created_at));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThan(times[i - 1]);
    for (const o of page.orders) expect(Object.keys(o)).toEqual(expect.arrayContaining(DETAIL_FIELDS));
  });

  it('filters by status, including a comma-separated list', async () => {
    expect((await list('status=filled')).orders.map((o) => o.client_order_id)).toEqual([FILLED_ID]);
    const dry = await list('status=dry_run');
    expect(dry.orders.map((o) => o.client_order_id)).toEqual(newestFirst(seeded.filter((s) => s.status === 'dry_run')));
    expect((await list('status=dry_run,filled')).orders).toHaveLength(26);
    expect((await list('status=canceled,rejected')).orders).toEqual([]);
  });

  it('filters by symbol (normalised) and by strategy_id', async () => {
    const msft = await list('symbol=msft');
    expect(msft.orders.map((o) => o.client_order_id)).toEqual(newestFirst(seeded.filter((s) => s.symbol === 'MSFT')));
    expect(msft.orders.every((o) => o.symbol === 'MSFT')).toBe(true);

    const beta = await list('strategy_id=beta_1');
    expect(beta.orders.map((o) => o.client_order_id)).toEqual(
      newestFirst(seeded.filter((s) => s.strategy === 'beta_1')),
    );
    expect(beta.orders.every((o) => o.strategy_id === 'beta_1')).toBe(true);

    const both = await list('strategy_id=beta_1&symbol=AAPL&status=dry_run');
    expect(both.orders.map((o) => o.client_order_id)).toEqual(
      newestFirst(seeded.filter((s) => s.strategy === 'beta_1' && s.symbol === 'AAPL')),
    );
    expect((await list('symbol=ZZZZ')).orders).toEqual([]);
  });

  it('filters by time range: created_after is inclusive, created_before exclusive', async () => {
    const range = await list(`created_after=${at(5)}&created_before=${at(10)}`);
    expect(range.orders.map((o) => o.client_order_id)).toEqual(
      newestFirst(seeded.filter((s) => s.minute >= 5 && s.minute < 10)),
    );
    expect(range.orders).toHaveLength(5);

    const after = await list(`created_after=${encodeURIComponent('2026-04-01T13:20:00+00:00')}`);
    expect(after.orders.map((o) => o.client_order_id)).toEqual(newestFirst(seeded.filter((s) => s.minute >= 20)));

    const before = await list(`created_before=${at(3)}`);
    expect(before.orders.map((o) => o.client_order_id)).toEqual(newestFirst(seeded.filter((s) => s.minute < 3)));

    expect((await list(`created_after=${at(30)}`)).orders).toEqual([]);
  });

  it('pages 25 orders by 10 as 10, 10, 5 and visits each exactly once', async () => {
    const { sizes, ids } = await walk('status=dry_run', 10);
    expect(sizes).toEqual([10, 10, 5]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(newestFirst(seeded.filter((s) => s.status === 'dry_run')));
  });

  it('pages with filters kept across pages, and an exact multiple ends with a null cursor', async () => {
    const aapl = seeded.filter((s) => s.symbol === 'AAPL');
    const byFour = await walk('symbol=AAPL', 4);
    expect(byFour.ids).toEqual(newestFirst(aapl));
    expect(byFour.sizes.reduce((a, b) => a + b, 0)).toBe(aapl.length);

    // 26 rows by 13: two full pages, and the second says there is nothing more.
    const exact = await walk('', 13);
    expect(exact.sizes).toEqual([13, 13]);
    expect(new Set(exact.ids).size).toBe(26);

    const single = await walk('', 1);
    expect(single.sizes).toEqual(Array(26).fill(1));
    expect(single.ids).toEqual(newestFirst(seeded));
  });

  it('returns one order with every OrderDetail field, prices as strings and qty as a number', async () => {
    clock.set('2026-04-02T15:45:30.123Z');
    const created = await t.http.post(ORDERS).set(auth).send({
      symbol: 'AAPL',
      side: 'buy',
      qty: '12',
      order_type: 'stop_limit',
      limit_price: '150.50',
      stop_price: 149.0,
      time_in_force: 'gtc',
      idempotency_key: 'detail-test',
    });
    expect(created.status).toBe(201);
    const id = created.body.client_order_id as string;

    const res = await t.http.get(`${ORDERS}/${id}`).set(auth);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(expect.arrayContaining(DETAIL_FIELDS));
    expect(res.body).toMatchObject({
      client_order_id: id,
      strategy_id: 'alpha_baseline',
      symbol: 'AAPL',
      side: 'buy',
      qty: 12,
      order_type: 'stop_limit',
      limit_price: '150.5',
      stop_price: '149',
      time_in_force: 'gtc',
      status: 'dry_run',
      broker_order_id: null,
      error_message: null,
      retry_count: 0,
      created_at: '2026-04-02T15:45:30.123Z',
      updated_at: '2026-04-02T15:45:30.123Z',
      submitted_at: null,
      filled_at: null,
      filled_qty: '0',
      filled_avg_price: null,
      metadata: { idempotency_key: 'detail-test' },
      parent_order_id: null,
      slice_num: null,
      total_slices: null,
      scheduled_time: null,
    });
    expect(typeof res.body.qty).toBe('number');
    expect(typeof res.body.filled_qty).toBe('string');
  });

  it('returns a filled order with its fill quantity and price as decimal strings', async () => {
    const res = await t.http.get(`${ORDERS}/${FILLED_ID}`).set(auth);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      client_order_id: FILLED_ID,
      status: 'filled',
      side: 'sell',
      qty: 10,
      broker_order_id: 'b-123',
      filled_qty: '10',
      filled_avg_price: '101.25',
      submitted_at: at(25),
      filled_at: at(26),
      updated_at: at(26),
      metadata: {},
    });
  });

  it('answers 404 ORDER_NOT_FOUND for an unknown id', async () => {
    const res = await t.http.get(`${ORDERS}/0123456789abcdef01234567`).set(auth);
    const body = expectError(res, 404, 'ORDER_NOT_FOUND');
    expect(body.message).toContain('0123456789abcdef01234567');
  });

  it("limits a strategy-scoped key to its strategies: others' orders are 404 and absent from the list", async () => {
    const key = 'scoped-key-beta-only-0123456789';
    const noView = 'scoped-key-without-view-0123456';
    const hash = (k: string) => createHash('sha256').update(k).digest('hex');
    await t.db.query(
      `INSERT INTO api_keys (name, key_hash, key_prefix, permissions, strategies, created_by)
       VALUES ('beta-reader', $1, 'scoped-key', '{VIEW_ORDERS}', '{beta_1}', 'test'),
              ('no-view', $2, 'scoped-key', '{SUBMIT_ORDER}', '{*}', 'test')`,
      [hash(key), hash(noView)],
    );
    const scoped = { Authorization: `Bearer ${key}` };

    const res = await t.http.get(`${ORDERS}?limit=500`).set(scoped);
    expect(res.status).toBe(200);
    const ids = (res.body as Page).orders.map((o) => o.client_order_id);
    expect(ids).toEqual(newestFirst(seeded.filter((s) => s.strategy === 'beta_1')));

    const beta = seeded.find((s) => s.strategy === 'beta_1')!;
    const alpha = seeded.find((s) => s.strategy === 'alpha_baseline')!;
    expect((await t.http.get(`${ORDERS}/${beta.id}`).set(scoped)).status).toBe(200);
    expectError(await t.http.get(`${ORDERS}/${alpha.id}`).set(scoped), 404, 'ORDER_NOT_FOUND');
    // Asking for another strategy by filter yields nothing rather than leaking it.
    expect((await t.http.get(`${ORDERS}?strategy_id=alpha_baseline`).set(scoped)).body.orders).toEqual([]);

    const denied = await t.http.get(ORDERS).set('X-API-Key', noView);
    const body = expectError(denied, 403, 'PERMISSION_DENIED');
    expect(body.details).toEqual({ missing_permissions: ['VIEW_ORDERS'] });
  });

  it('keeps pages stable while new orders arrive: no duplicates, no skipped rows', async () => {
    const expected = (await walk('status=dry_run', 10)).ids;
    const first = await list('status=dry_run&limit=10');
    expect(first.orders).toHaveLength(10);
    // Newer orders land between two page reads.
    for (let i = 0; i < 3; i++) {
      clock.set(at(100 + i));
      const res = await t.http
        .post(ORDERS)
        .set(auth)
        .send({ symbol: 'PAGE', side: 'sell', qty: i + 1 });
      expect(res.status).toBe(201);
    }
    const seen = first.orders.map((o) => o.client_order_id);
    let cursor = first.next_cursor;
    while (cursor) {
      const page = await list(`status=dry_run&limit=10&cursor=${encodeURIComponent(cursor)}`);
      seen.push(...page.orders.map((o) => o.client_order_id));
      cursor = page.next_cursor;
    }
    expect(seen).toEqual(expected);
    // A fresh walk starts with the new orders.
    const fresh = await list('status=dry_run&limit=3');
    expect(fresh.orders.map((o) => o.symbol)).toEqual(['PAGE', 'PAGE', 'PAGE']);
  });
});
