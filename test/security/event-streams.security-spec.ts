/**
 * Event streams (docs/security.md#event-streams): an open SSE stream ends
 * when its key is revoked (at once on the announcement, within the 5 s
 * re-check when the announcement is missed), and a key holds at most
 * SSE_MAX_STREAMS_PER_KEY streams across replicas; one more is a 429
 * TOO_MANY_STREAMS.
 */
import { auth, startTestApp, TestApp } from '../support/app';
import { createKey } from '../support/api-keys';
import { openStream, StreamClient, waitUntil } from '../support/event-stream-client';
import { expectError } from '../support/http-expect';

let a: TestApp;
let b: TestApp;
const env = { SSE_MAX_STREAMS_PER_KEY: '3' };

beforeAll(async () => {
  a = await startTestApp({ env });
  // A second replica of the same deployment (same database, same key prefix).
  b = await startTestApp({ env, database: a.database });
});

afterAll(async () => {
  await b?.close();
  await a?.close();
});

const open: StreamClient[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

async function stream(t: TestApp, headers: Record<string, string>): Promise<StreamClient> {
  const s = await openStream(t, '/api/v1/events', headers);
  open.push(s);
  return s;
}

describe('a revoked key loses its open streams', () => {
  it('revocation through the API ends the key streams on every replica at once', async () => {
    const key = await createKey(a, ['VIEW_ORDERS']);
    const onA = await stream(a, key.auth);
    const onB = await stream(b, key.auth);
    expect([onA.status, onB.status]).toEqual([200, 200]);
    expect((await a.http.delete(`/api/v1/admin/api-keys/${key.id}`).set(auth)).status).toBe(200);
    const started = Date.now();
    await waitUntil(() => onA.ended && onB.ended, 3_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    // Reconnecting with the revoked key is refused.
    expectError(await a.http.get('/api/v1/events').set(key.auth), 401, 'INVALID_API_KEY');
  });

  it('a revocation nobody announced (written straight to PostgreSQL) still ends the stream within the re-check', async () => {
    const key = await createKey(a, ['VIEW_ORDERS']);
    const s = await stream(a, key.auth);
    expect(s.status).toBe(200);
    await a.db.query(`UPDATE api_keys SET revoked_at = now(), revoked_by = 'test' WHERE id = $1`, [key.id]);
    await waitUntil(() => s.ended, 9_000);
  }, 15_000);

  it('another key streams on', async () => {
    const revoked = await createKey(a, ['VIEW_ORDERS']);
    const kept = await createKey(a, ['VIEW_ORDERS']);
    const gone = await stream(a, revoked.auth);
    const stays = await stream(a, kept.auth);
    expect((await a.http.delete(`/api/v1/admin/api-keys/${revoked.id}`).set(auth)).status).toBe(200);
    await waitUntil(() => gone.ended, 3_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(stays.ended).toBe(false);
  });
});

describe('streams per key', () => {
  it('a key holds at most SSE_MAX_STREAMS_PER_KEY streams across replicas; one more is 429 TOO_MANY_STREAMS', async () => {
    const key = await createKey(a, ['VIEW_ORDERS']);
    const held = [await stream(a, key.auth), await stream(b, key.auth), await stream(a, key.auth)];
    expect(held.map((s) => s.status)).toEqual([200, 200, 200]);
    for (const t of [a, b]) {
      const refused = await stream(t, key.auth);
      expect(refused.status).toBe(429);
      const body = JSON.parse(refused.body) as { error: string; message: string; details?: { limit?: number } };
      expect(body.error).toBe('TOO_MANY_STREAMS');
      expect(body.details).toEqual({ limit: 3 });
      expect(refused.headers['retry-after']).toBeDefined();
    }
    // Another key is not counted against this one.
    const other = await createKey(a, ['VIEW_ORDERS']);
    expect((await stream(b, other.auth)).status).toBe(200);
    // Closing one frees its slot.
    held[1].close();
    await waitUntil(async () => {
      const s = await stream(a, key.auth);
      if (s.status === 200) return true;
      s.close();
      await new Promise((r) => setTimeout(r, 100));
      return false;
    }, 3_000);
  });
});
