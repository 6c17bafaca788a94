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
