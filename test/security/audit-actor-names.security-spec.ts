/**
 * Finding: a key could be named after an actor the gateway writes into the
 * audit log itself (`broker:stream`, `gateway`, `reconciliation`, ...), so its
 * actions read as the system's. Every such name, any casing, and any name whose
 * part before a `:` is one of them, is refused with 422 naming `name`
 * (docs/api.md#api-keys, docs/security.md#audit-actors).
 */
import { auth, startTestApp, TestApp } from '../support/app';
import { expectInvalidFields } from '../support/http-expect';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

const SYSTEM_ACTORS = [
  'gateway',
  'Gateway',
  'broker:stream',
  'broker:poll',
  'broker:webhook',
  'broker:reconciliation',
  'broker:submit',
  'BROKER:Stream',
  'broker:anything',
  'reconciliation',
  'system',
  'SYSTEM:jobs',
  'cli',
  'admin',
  'bootstrap-admin',
];

it.each(SYSTEM_ACTORS)('a key cannot be named %s', async (name) => {
  const res = await t.http
    .post('/api/v1/admin/api-keys')
    .set(auth)
    .send({ name, permissions: ['VIEW_ORDERS'], strategies: ['*'] });
  expectInvalidFields(res, ['name']);
  const rows: unknown[] = await t.db.query('SELECT 1 FROM api_keys WHERE lower(name) = lower($1)', [name]);
  expect(rows).toHaveLength(0);
});

it('names that merely contain a reserved word are still accepted', async () => {
  for (const name of ['broker-bridge', 'desk:gateway', 'gateway2']) {
    const res = await t.http
      .post('/api/v1/admin/api-keys')
      .set(auth)
      .send({ name, permissions: ['VIEW_ORDERS'], strategies: ['*'] });
    expect(res.status).toBe(201);
  }
});

describe('an operator named in a control request cannot impersonate the gateway either', () => {
  const CONTROLS: Array<[string, Record<string, unknown>]> = [
    ['/api/v1/circuit-breaker/trip', { reason: 'probe' }],
    ['/api/v1/kill-switch/engage', { reason: 'probe' }],
    ['/api/v1/kill-switch/disengage', {}],
    ['/api/v1/reconciliation/force-complete', { reason: 'probe' }],
  ];

  it.each(
    CONTROLS.flatMap(([path, body]) =>
      ['system', 'Gateway', 'broker:stream', 'reconciliation'].map((operator) => [path, operator, body] as const),
    ),
  )('%s with operator %p is a 422 naming operator, and changes nothing', async (path, operator, body) => {
    const before = await t.db.query(`SELECT count(*)::int AS n FROM audit_log`);
    expectInvalidFields(
      await t.http
        .post(path)
        .set(auth)
        .send({ ...body, operator }),
      ['operator'],
    );
    const after = await t.db.query(`SELECT count(*)::int AS n FROM audit_log`);
    expect(after[0].n).toBe(before[0].n);
  });

  it('an ordinary operator name still passes', async () => {
    const res = await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'broker-desk' });
    expect(res.status).toBe(200);
  });
});
