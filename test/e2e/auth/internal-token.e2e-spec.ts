/**
 * Service signing (docs/configuration.md, docs/api.md): with INTERNAL_TOKEN_SECRET set every call
 * but health, metrics, docs and `/` carries X-Internal-Timestamp and an HMAC
 * over timestamp, method, path with query and raw body; it is refused outside
 * the tolerance (on the gateway's clock) and never accepted twice, on any
 * replica. When the replay cache cannot be reached the call is refused.
 */
import { signWebhook } from '../../../src/webhooks/webhook-signature';
import { ManualClock } from '../../../src/infra/clock/clock';
import { StateStore } from '../../../src/infra/state/state-store';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectError } from '../../support/http-expect';
import { internalHeaders } from '../../support/internal-signing';
import { testRedisPrefix } from '../../support/redis-keys';

const SECRET = 'internal-token-secret-0123456789';
const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';
const TOLERANCE = 30;

describe('service signing (e2e)', () => {
  let a: TestApp;
  let b: TestApp;
  // An hour ahead of real time: calls signed with the system clock's time would be refused,
  // so passing calls prove the gateway reads the injected clock.
  const clock = new ManualClock(new Date(Date.now() + 3_600_000));
  const nowS = () => Math.floor(clock.now().getTime() / 1000);
  const prefix = testRedisPrefix('sig');
  const env = {
    INTERNAL_TOKEN_SECRET: SECRET,
    INTERNAL_TOKEN_TIMESTAMP_TOLERANCE_SECONDS: String(TOLERANCE),
    WEBHOOK_SECRET,
    // Both replicas share one replay cache, as in production.
    REDIS_KEY_PREFIX: prefix,
  };

  beforeAll(async () => {
    a = await startTestApp({ env, clock });
    b = await startTestApp({ env, clock, database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  const signedGet = (t: TestApp, path: string, ts = nowS(), secret = SECRET) =>
    t.http
      .get(path)
      .set(auth)
      .set(internalHeaders(secret, 'GET', path, '', ts));

  describe('required (the default)', () => {
    it('refuses an unsigned call with 401 INTERNAL_SIGNATURE_MISSING, before the API key is looked at', async () => {
      expectError(await a.http.get('/api/v1/orders').set(auth), 401, 'INTERNAL_SIGNATURE_MISSING');
      expectError(await a.http.get('/api/v1/orders'), 401, 'INTERNAL_SIGNATURE_MISSING');
      const ts = String(nowS());
      expectError(
        await a.http.get('/api/v1/orders').set(auth).set('X-Internal-Timestamp', ts),
        401,
        'INTERNAL_SIGNATURE_MISSING',
      );
    });

    it('accepts a signed call once; the same call again, on this or another replica, is 401 INTERNAL_SIGNATURE_REPLAYED', async () => {
      const path = '/api/v1/orders?limit=5';
      const headers = internalHeaders(SECRET, 'GET', path, '', nowS());
      expect((await a.http.get(path).set(auth).set(headers)).status).toBe(200);
      expectError(await a.http.get(path).set(auth).set(headers), 401, 'INTERNAL_SIGNATURE_REPLAYED');
      expectError(await b.http.get(path).set(auth).set(headers), 401, 'INTERNAL_SIGNATURE_REPLAYED');
      // Signed afresh (a later timestamp), the same call passes.
      clock.advance(1_000);
      expect((await signedGet(b, path)).status).toBe(200);
    });

    it('covers the body, the method and the path with its query', async () => {
      const path = '/api/v1/admin/api-keys';
      const body = JSON.stringify({ name: 'signed-made', permissions: ['VIEW_ORDERS'], strategies: ['*'] });
      const headers = internalHeaders(SECRET, 'POST', path, body, nowS());
      const send = (p: string, raw: string) =>
        a.http.post(p).set(auth).set(headers).set('Content-Type', 'application/json').send(raw);

      // Tampered first: a refused signature is not remembered, so the genuine call still passes after it.
      expectError(await send(path, body.replace('VIEW_ORDERS', 'MANAGE_API_KEYS')), 401, 'INTERNAL_SIGNATURE_INVALID');
      expectError(await send(`${path}?x=1`, body), 401, 'INTERNAL_SIGNATURE_INVALID');
      expectError(await a.http.get(path).set(auth).set(headers), 401, 'INTERNAL_SIGNATURE_INVALID');
      expect(await a.db.query(`SELECT count(*)::int AS n FROM api_keys WHERE name = 'signed-made'`)).toEqual([
        { n: 0 },
      ]);

      const created = await send(path, body);
      expect(created.status).toBe(201);
      expectError(await send(path, body), 401, 'INTERNAL_SIGNATURE_REPLAYED');
      expect(await a.db.query(`SELECT count(*)::int AS n FROM api_keys WHERE name = 'signed-made'`)).toEqual([
        { n: 1 },
      ]);
    });

    it('refuses a wrong secret or a malformed signature with 401 INTERNAL_SIGNATURE_INVALID', async () => {
      expectError(
        await signedGet(a, '/api/v1/config', nowS(), 'some-other-secret-0123456'),
        401,
        'INTERNAL_SIGNATURE_INVALID',
      );
      expectError(
        await a.http
          .get('/api/v1/config')
          .set(auth)
          .set({ 'X-Internal-Timestamp': String(nowS()), 'X-Internal-Signature': 'not-hex' }),
        401,
        'INTERNAL_SIGNATURE_INVALID',
      );
    });

    it('refuses a timestamp outside the tolerance either way (on the gateway clock), accepts one at its edge', async () => {
      expectError(
        await signedGet(a, '/api/v1/config', nowS() - TOLERANCE - 2),
        401,
        'INTERNAL_TIMESTAMP_OUT_OF_TOLERANCE',
      );
      expectError(
        await signedGet(a, '/api/v1/config', nowS() + TOLERANCE + 2),
        401,
        'INTERNAL_TIMESTAMP_OUT_OF_TOLERANCE',
      );
      // Real time is an hour behind the gateway's clock here.
      expectError(
        await signedGet(a, '/api/v1/config', Math.floor(Date.now() / 1000)),
        401,
        'INTERNAL_TIMESTAMP_OUT_OF_TOLERANCE',
      );
      expect((await signedGet(a, '/api/v1/config', nowS() - TOLERANCE + 1)).status).toBe(200);
      expect((await signedGet(a, '/api/v1/config', nowS() + TOLERANCE - 1)).status).toBe(200);
    });

    it('a captured call replayed after its window is refused for its timestamp', async () => {
      const headers = internalHeaders(SECRET, 'GET', '/api/v1/positions', '', nowS());
      expect((await a.http.get('/api/v1/positions').set(auth).set(headers)).status).toBe(200);
      clock.advance((TOLERANCE + 5) * 1000);
      expectError(
        await b.http.get('/api/v1/positions').set(auth).set(headers),
        401,
        'INTERNAL_TIMESTAMP_OUT_OF_TOLERANCE',
      );
    });

    it('health, metrics, docs and / need no signature', async () => {
      for (const path of ['/', '/health/live', '/health/ready', '/health', '/metrics', '/docs/json']) {
        const res = await a.http.get(path);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
      }
    });

    it('the OpenAPI document lists the two headers on every operation', async () => {
      const doc = (await a.http.get('/docs/json')).body as {
        paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; required?: boolean }> }>>;
      };
      const submit = doc.paths['/api/v1/orders'].post.parameters ?? [];
      expect(submit).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'X-Internal-Timestamp', in: 'header', required: true }),
          expect.objectContaining({ name: 'X-Internal-Signature', in: 'header', required: true }),
        ]),
      );
    });

    it('the webhook is exempt while WEBHOOK_SECRET is set: the broker signs it with its own HMAC', async () => {
      const body = JSON.stringify({ event: 'not-a-real-event' });
      const unsigned = await a.http.post('/api/v1/webhooks/orders').set('Content-Type', 'application/json').send(body);
      expectError(unsigned, 401, 'INVALID_SIGNATURE');
      const signed = await a.http
        .post('/api/v1/webhooks/orders')
        .set('Content-Type', 'application/json')
        .set('X-Alpaca-Signature', signWebhook(body, WEBHOOK_SECRET))
        .send(body);
      expect(signed.status).toBe(422);
    });

    it('refuses with 503 SAFETY_STATE_UNAVAILABLE when the replay cache cannot be reached, running nothing', async () => {
      const store = a.app.get(StateStore);
      jest.spyOn(store, 'setIfAbsent').mockRejectedValue(new Error('Connection is closed.'));
      const path = '/api/v1/admin/api-keys';
      const body = JSON.stringify({ name: 'store-down', permissions: ['VIEW_ORDERS'], strategies: ['*'] });
      const res = await a.http
        .post(path)
        .set(auth)
        .set(internalHeaders(SECRET, 'POST', path, body, nowS()))
        .set('Content-Type', 'application/json')
        .send(body);
      expectError(res, 503, 'SAFETY_STATE_UNAVAILABLE');
      expect(await a.db.query(`SELECT count(*)::int AS n FROM api_keys WHERE name = 'store-down'`)).toEqual([{ n: 0 }]);
    });
  });

  describe('INTERNAL_TOKEN_REQUIRED=false', () => {
    let c: TestApp;
    beforeAll(async () => {
      c = await startTestApp({ env: { ...env, INTERNAL_TOKEN_REQUIRED: 'false' }, clock });
    });
    afterAll(async () => {
      await c?.close();
    });

    it('lets an unsigned call through, but checks a signed one, replays included', async () => {
      expect((await c.http.get('/api/v1/config').set(auth)).status).toBe(200);
      expectError(
        await signedGet(c, '/api/v1/config', nowS(), 'some-other-secret-0123456'),
        401,
        'INTERNAL_SIGNATURE_INVALID',
      );
      expectError(
        await c.http.get('/api/v1/config').set(auth).set('X-Internal-Signature', 'ab'.repeat(32)),
        401,
        'INTERNAL_SIGNATURE_MISSING',
      );
      const headers = internalHeaders(SECRET, 'GET', '/api/v1/config', '', nowS() + 3);
      expect((await c.http.get('/api/v1/config').set(auth).set(headers)).status).toBe(200);
      expectError(await c.http.get('/api/v1/config').set(auth).set(headers), 401, 'INTERNAL_SIGNATURE_REPLAYED');
    });
  });

  describe('without INTERNAL_TOKEN_SECRET', () => {
    it('nothing is asked of the caller (the other e2e suites run this way)', async () => {
      const d = await startTestApp();
      try {
        expect((await d.http.get('/api/v1/config').set(auth)).status).toBe(200);
        const doc = JSON.stringify((await d.http.get('/docs/json')).body);
        expect(doc).not.toContain('X-Internal-Signature');
      } finally {
        await d.close();
      }
    });
  });
});
