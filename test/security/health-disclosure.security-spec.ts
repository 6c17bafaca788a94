/**
 * Finding 11 (docs/security.md#health-endpoints): the unauthenticated /health
 * showed quarantined symbols, the instance id, the leader and raw error text.
 * Without a valid API key it now says only the overall status and each
 * component's state; the details need a valid key (any permission).
 * /health/live and /health/ready stay public and minimal.
 */
import { createKey } from '../support/api-keys';
import { auth, startTestApp, TestApp } from '../support/app';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

/** Every component reduced to `{status}`. */
function statesOnly(body: Record<string, Record<string, Record<string, unknown>>>): void {
  for (const section of ['info', 'error', 'details']) {
    for (const [name, v] of Object.entries(body[section] ?? {})) {
      expect([name, Object.keys(v)]).toEqual([name, ['status']]);
      expect(['up', 'down', 'degraded']).toContain(v.status);
    }
  }
}

it.each([
  ['no key', {}],
  ['an unknown key', { Authorization: 'Bearer eg_not-a-real-key-0123456789' }],
])('/health with %s: status and component states only', async (_label, headers) => {
  const res = await t.http.get('/health').set(headers);
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('ok');
  expect(Object.keys(res.body.details).sort()).toEqual(
    ['broker_pacing', 'broker_stream', 'database', 'gateway', 'reconciliation_gate', 'state_store'].sort(),
  );
  statesOnly(res.body);
  expect(res.text).not.toMatch(/instance_id|leader|blocked_symbols|redis|environment/);
  // Beside terminus's fields, only the original design's flags (docs/api.md#compatibility): no details.
  expect(Object.keys(res.body).sort()).toEqual(
    [
      'status',
      'info',
      'error',
      'details',
      'service',
      'version',
      'dry_run',
      'database_connected',
      'alpaca_connected',
    ].sort(),
  );
  for (const flag of ['dry_run', 'database_connected', 'alpaca_connected'])
    expect(typeof res.body[flag]).toBe('boolean');
});

it('/health with any valid key, whatever its permissions: the details', async () => {
  const weak = await createKey(t, ['VIEW_PNL'], ['nothing']);
  for (const headers of [auth, weak.auth]) {
    const res = await t.http.get('/health').set(headers);
    expect(res.status).toBe(200);
    expect(res.body.details.reconciliation_gate).toHaveProperty('blocked_symbols');
    expect(res.body.details.state_store).toMatchObject({ status: 'up', mode: 'redis' });
  }
});

it('/health/live and /health/ready are public and minimal, key or not', async () => {
  for (const headers of [{}, auth]) {
    const ready = await t.http.get('/health/ready').set(headers);
    expect(ready.status).toBe(200);
    expect(ready.body.details).toEqual({ database: { status: 'up' }, state_store: { status: 'up' } });
    const live = await t.http.get('/health/live').set(headers);
    expect(live.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
  }
});
