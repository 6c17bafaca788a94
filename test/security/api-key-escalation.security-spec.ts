/**
 * Finding: API-key creation had no subset check. A key holding only
 * MANAGE_API_KEYS for strategy s_a could create a key with every permission and
 * every strategy (201), revoke a wider key (200) and list every key. Now a key
 * manages only keys within its own permissions and strategies: 403
 * API_KEY_ESCALATION naming what exceeds, audited (docs/api.md#api-keys,
 * docs/security.md#api-keys-and-privilege). The ADMIN_API_KEY keeps every power.
 */
import { PERMISSIONS } from '../../src/auth/permission';
import { auth, startTestApp, TestApp } from '../support/app';
import { createKey, CreatedKey } from '../support/api-keys';
import { expectError } from '../support/http-expect';

let t: TestApp;
let manager: CreatedKey;

beforeAll(async () => {
  t = await startTestApp();
  manager = await createKey(t, ['MANAGE_API_KEYS', 'VIEW_ORDERS'], ['s_a', 's_b'], { name: 'desk-manager' });
});

afterAll(async () => {
  await t.close();
});

const create = (as: { Authorization: string }, body: object) =>
  t.http.post('/api/v1/admin/api-keys').set(as).send(body);

async function activeKeyNamed(name: string): Promise<number> {
  const rows: unknown[] = await t.db.query('SELECT 1 FROM api_keys WHERE name = $1 AND revoked_at IS NULL', [name]);
  return rows.length;
}

async function refusals(): Promise<Array<{ actor: string; reason_code: string; details: Record<string, unknown> }>> {
  return t.db.query(
    `SELECT actor, reason_code, details FROM audit_log WHERE action = 'api_key.escalation_refused' ORDER BY id`,
  );
}

describe('creating keys', () => {
  it('a scoped manager cannot create a key with every permission and every strategy', async () => {
    const res = await create(manager.auth, { name: 'escalated', permissions: [...PERMISSIONS], strategies: ['*'] });
    const body = expectError(res, 403, 'API_KEY_ESCALATION');
    expect(body.details).toEqual({
      operation: 'create',
      exceeding_permissions: PERMISSIONS.filter((p) => p !== 'MANAGE_API_KEYS' && p !== 'VIEW_ORDERS'),
      exceeding_strategies: ['*'],
    });
    expect(await activeKeyNamed('escalated')).toBe(0);
    const audit = await refusals();
    expect(audit.at(-1)).toMatchObject({
      actor: 'desk-manager',
      reason_code: 'API_KEY_ESCALATION',
      details: expect.objectContaining({ operation: 'create', name: 'escalated', operator_key_id: manager.id }),
    });
  });

  it.each([
    ['a permission it lacks', { permissions: ['SUBMIT_ORDER'], strategies: ['s_a'] }, ['SUBMIT_ORDER'], []],
    ['a strategy it lacks', { permissions: ['VIEW_ORDERS'], strategies: ['s_a', 's_c'] }, [], ['s_c']],
    ['every strategy', { permissions: ['VIEW_ORDERS'], strategies: ['*'] }, [], ['*']],
  ])('refuses %s, naming it', async (_what, scope, permissions, strategies) => {
    const res = await create(manager.auth, { name: 'too-wide', ...scope });
    const body = expectError(res, 403, 'API_KEY_ESCALATION');
    expect(body.details).toMatchObject({ exceeding_permissions: permissions, exceeding_strategies: strategies });
    expect(await activeKeyNamed('too-wide')).toBe(0);
  });

  it('creates a key within its own scope', async () => {
    const res = await create(manager.auth, { name: 'narrow', permissions: ['VIEW_ORDERS'], strategies: ['s_b'] });
    expect(res.status).toBe(201);
  });

  it('the ADMIN_API_KEY still creates any key', async () => {
    const res = await create(auth, { name: 'admin-made', permissions: [...PERMISSIONS], strategies: ['*'] });
    expect(res.status).toBe(201);
  });
});

describe('revoking and listing keys', () => {
  let wide: CreatedKey;
  let otherStrategy: CreatedKey;
  let inside: CreatedKey;

  beforeAll(async () => {
    wide = await createKey(t, ['SUBMIT_ORDER', 'VIEW_ORDERS'], ['*'], { name: 'wide-trader' });
    otherStrategy = await createKey(t, ['VIEW_ORDERS'], ['s_z'], { name: 'other-desk' });
    inside = await createKey(t, ['VIEW_ORDERS'], ['s_a'], { name: 'inside-viewer' });
  });

  it.each([
    ['a key with a permission it lacks', () => wide],
    ['a key for a strategy it lacks', () => otherStrategy],
  ])('a scoped manager cannot revoke %s', async (_what, target) => {
    const res = await t.http.delete(`/api/v1/admin/api-keys/${target().id}`).set(manager.auth);
    expectError(res, 403, 'API_KEY_ESCALATION');
    expect(await activeKeyNamed(target().name)).toBe(1);
    expect((await refusals()).at(-1)?.details).toMatchObject({ operation: 'revoke', key_id: target().id });
    // The key still works.
    expect((await t.http.get('/api/v1/orders').set(target().auth)).status).toBe(200);
  });

  it('lists only keys within its scope', async () => {
    const res = await t.http.get('/api/v1/admin/api-keys').set(manager.auth);
    expect(res.status).toBe(200);
    const names = (res.body as Array<{ name: string }>).map((k) => k.name);
    expect(names).toEqual(expect.arrayContaining(['desk-manager', 'narrow', 'inside-viewer']));
    for (const hidden of ['wide-trader', 'other-desk', 'admin-made']) expect(names).not.toContain(hidden);
  });

  it('revokes a key within its scope', async () => {
    const res = await t.http.delete(`/api/v1/admin/api-keys/${inside.id}`).set(manager.auth);
    expect(res.status).toBe(200);
    expect(await activeKeyNamed('inside-viewer')).toBe(0);
  });

  it('the ADMIN_API_KEY still revokes and lists every key', async () => {
    const list = await t.http.get('/api/v1/admin/api-keys').set(auth);
    expect((list.body as Array<{ name: string }>).map((k) => k.name)).toEqual(
      expect.arrayContaining(['wide-trader', 'other-desk', 'admin-made']),
    );
    expect((await t.http.delete(`/api/v1/admin/api-keys/${wide.id}`).set(auth)).status).toBe(200);
  });
});
