import { randomBytes } from 'node:crypto';
import { hashApiKey } from '../../../src/auth/api-key.service';
import { StateStore } from '../../../src/infra/state/state-store';
import { startTestApp, TestApp } from '../../support/app';
import { testRedisPrefix } from '../../support/redis-keys';

/**
 * Per-key rate limits (docs/risk-and-safety.md, docs/api.md): sliding window per API key and endpoint
 * class, 429 RATE_LIMITED with Retry-After, shared by replicas through Redis;
 * submits fail closed when the store is unavailable, cancels never do.
 */
describe('rate limits (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  let n = 0;
  const env = {
    ORDER_SUBMIT_RATE_LIMIT: '3',
    ORDER_CANCEL_RATE_LIMIT: '2',
    // Both replicas on the same keys, as in production.
    REDIS_KEY_PREFIX: testRedisPrefix('rl'),
  };

  /** A fresh API key per test, so every test starts with a full budget. */
  async function newKey(): Promise<Record<string, string>> {
    const key = `rl-test-key-${randomBytes(12).toString('hex')}`;
    await a.db.query(
      `INSERT INTO api_keys (name, key_hash, key_prefix, permissions, strategies, created_by)
       VALUES ($1, $2, $3, $4, $5, 'test')`,
      [`rl-${++n}`, hashApiKey(key), key.slice(0, 10), ['SUBMIT_ORDER', 'CANCEL_ORDER', 'VIEW_ORDERS'], ['*']],
    );
    return { Authorization: `Bearer ${key}` };
  }
  const submit = (t: TestApp, headers: Record<string, string>, id: string) =>
    t.http.post('/api/v1/orders').set(headers).send({ symbol: 'RL', side: 'buy', qty: 1, client_order_id: id });
  const cancel = (t: TestApp, headers: Record<string, string>, id: string) =>
    t.http.post(`/api/v1/orders/${id}/cancel`).set(headers);

  beforeAll(async () => {
    a = await startTestApp({ env });
    b = await startTestApp({ env, database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('admits `limit` submits per key, then answers 429 RATE_LIMITED with Retry-After; another key is unaffected', async () => {
    const k1 = await newKey();
    for (let i = 1; i <= 3; i++) expect((await submit(a, k1, `rl-sub-${i}`)).status).toBe(201);

    const refused = await submit(a, k1, 'rl-sub-4');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: 'RATE_LIMITED',
      message: expect.stringMatching(/3 submit requests per 60 s/),
      details: { limit: 3, window_seconds: 60, class: 'submit' },
      request_id: expect.any(String),
    });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Number((await a.db.query(`SELECT count(*) AS n FROM orders WHERE client_order_id = 'rl-sub-4'`))[0].n)).toBe(
      0,
    );
    // Refused again: the refusal did not extend anything, still 429.
    expect((await submit(a, k1, 'rl-sub-4')).status).toBe(429);

    const k2 = await newKey();
    expect((await submit(a, k2, 'rl-sub-other-key')).status).toBe(201);

    const metrics = await a.http.get('/metrics');
    expect(metrics.text).toMatch(/reason="RATE_LIMITED"/);
  });

  it('cancels have their own budget: the third cancel is refused while submits still pass', async () => {
    const k = await newKey();
    expect((await submit(a, k, 'rl-cxl-1')).status).toBe(201);
    expect((await submit(a, k, 'rl-cxl-2')).status).toBe(201);
    expect((await cancel(a, k, 'rl-cxl-1')).status).toBeLessThan(300);
    expect((await cancel(a, k, 'rl-cxl-2')).status).toBeLessThan(300);

    const refused = await cancel(a, k, 'rl-cxl-1');
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('RATE_LIMITED');
    expect(refused.body.details).toEqual({ limit: 2, window_seconds: 60, class: 'cancel' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    expect((await submit(a, k, 'rl-cxl-3')).status).toBe(201);
  });

  it('replicas share one budget through Redis', async () => {
    const k = await newKey();
    expect((await submit(a, k, 'rl-rep-1')).status).toBe(201);
    expect((await submit(b, k, 'rl-rep-2')).status).toBe(201);
    expect((await submit(a, k, 'rl-rep-3')).status).toBe(201);
    expect((await submit(b, k, 'rl-rep-4')).status).toBe(429);
    expect((await submit(a, k, 'rl-rep-4')).status).toBe(429);
  });

  it('store unavailable: a submit is refused with 503 SAFETY_STATE_UNAVAILABLE, a cancel passes', async () => {
    const k = await newKey();
    expect((await submit(a, k, 'rl-down-1')).status).toBe(201);
    jest.spyOn(a.app.get(StateStore), 'slidingWindowHit').mockRejectedValue(new Error('Connection is closed.'));

    const refused = await submit(a, k, 'rl-down-2');
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({
      error: 'SAFETY_STATE_UNAVAILABLE',
      message: expect.any(String),
      details: { class: 'submit' },
      request_id: expect.any(String),
    });
    expect((await cancel(a, k, 'rl-down-1')).status).toBeLessThan(300);
  });
});
