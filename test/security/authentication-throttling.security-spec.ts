/**
 * Finding: failed authentications were never throttled, and 10,000 misses
 * flushed the whole key cache. Now misses are counted per client address
 * (AUTH_FAILURE_RATE_LIMIT a minute); over the limit the address is answered
 * 429 RATE_LIMITED with Retry-After before any key it sends is looked up
 * (docs/security.md#authentication-throttling). X-Forwarded-For counts only
 * behind a proxy listed in TRUSTED_PROXY_HOSTS. (The key cache's own part,
 * misses never evicting keys in use, is proven in src/auth/api-key.service.spec.ts.)
 */
import { ApiKeyRepository } from '../../src/auth/api-key.repository';
import { auth, startTestApp, TestApp } from '../support/app';
import { expectError } from '../support/http-expect';

const LIMIT = 5;
const bad = (i: number) => ({ Authorization: `Bearer eg_not-a-real-key-${i}` });

describe('without a trusted proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_FAILURE_RATE_LIMIT: String(LIMIT) } });
  });
  afterAll(async () => {
    await t.close();
  });

  it(`${LIMIT} misses are 401; then the address gets 429 with Retry-After, before any lookup`, async () => {
    for (let i = 0; i < LIMIT; i++) {
      // A spoofed X-Forwarded-For does not buy a fresh budget.
      const res = await t.http.get('/api/v1/orders').set(bad(i)).set('X-Forwarded-For', `198.51.100.${i}`);
      expectError(res, 401, 'INVALID_API_KEY');
    }
    const over = await t.http.get('/api/v1/orders').set(bad(LIMIT));
    const body = expectError(over, 429, 'RATE_LIMITED');
    expect(body.details).toEqual({ limit: LIMIT, window_seconds: 60, class: 'authentication' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(over.headers['retry-after'])).toBeLessThanOrEqual(60);

    const lookups = jest.spyOn(t.app.get(ApiKeyRepository), 'findActiveByHash');
    expectError(await t.http.get('/api/v1/orders').set(bad(LIMIT + 1)), 429, 'RATE_LIMITED');
    // Even the admin key from this address waits: the answer must not tell a good guess from a bad one.
    expectError(await t.http.get('/api/v1/orders').set(auth), 429, 'RATE_LIMITED');
    expect(lookups).not.toHaveBeenCalled();
    lookups.mockRestore();
  });

  it('requests without a key are not counted, and public routes stay open', async () => {
    expectError(await t.http.get('/api/v1/orders'), 401, 'UNAUTHENTICATED');
    expect((await t.http.get('/health/live')).status).toBe(200);
  });
});

describe('behind a trusted proxy (TRUSTED_PROXY_HOSTS)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_FAILURE_RATE_LIMIT: String(LIMIT), TRUSTED_PROXY_HOSTS: '127.0.0.1, ::1' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('each client behind the proxy has its own budget; hops the client prepends do not matter', async () => {
    const from = (client: string, spoof = '') => ({ 'X-Forwarded-For': `${spoof}${client}` });
    for (let i = 0; i < LIMIT; i++) {
      const res = await t.http
        .get('/api/v1/orders')
        .set(bad(i))
        .set(from('203.0.113.10', `192.0.2.${i}, `));
      expectError(res, 401, 'INVALID_API_KEY');
    }
    expectError(
      await t.http.get('/api/v1/orders').set(bad(99)).set(from('203.0.113.10', '192.0.2.200, ')),
      429,
      'RATE_LIMITED',
    );
    // Another client behind the same proxy is not affected.
    expect((await t.http.get('/api/v1/orders').set(auth).set(from('203.0.113.11'))).status).toBe(200);
    expectError(await t.http.get('/api/v1/orders').set(bad(100)).set(from('203.0.113.11')), 401, 'INVALID_API_KEY');
  });
});

describe('every place that reads a key counts its misses (no unthrottled oracle)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_FAILURE_RATE_LIMIT: String(LIMIT) } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('bad keys on /health count: the address is then throttled on /api/v1, and /health stops telling a good key from a bad one', async () => {
    expect(JSON.stringify((await t.http.get('/health').set(auth)).body)).toMatch(/"gate":"open"/);
    for (let i = 0; i < LIMIT; i++) {
      const res = await t.http.get('/health').set(bad(i));
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body)).not.toMatch(/"gate":"open"/);
    }
    expectError(await t.http.get('/api/v1/orders').set(bad(LIMIT)), 429, 'RATE_LIMITED');
    // Throttled: even the admin key gets the short answer.
    expect(JSON.stringify((await t.http.get('/health').set(auth)).body)).not.toMatch(/"gate":"open"/);
  });
});
