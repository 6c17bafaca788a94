/**
 * API-key management (docs/api.md#api-keys, docs/api.md#authentication): keys are created with
 * the key shown once and stored hashed, listed without secrets, revoked softly
 * and idempotently with the revocation effective on every replica within about
 * a second, every change audited with its operator; the `keys` command does
 * the same from a shell.
 */
import { createHash } from 'node:crypto';
import { PERMISSIONS } from '../../../src/auth/permission';
import { runKeysCli } from '../../../src/cli/keys';
import { auth, startTestApp, TEST_ADMIN_KEY, TEST_REDIS_URL, TestApp } from '../../support/app';
import { createKey } from '../../support/api-keys';
import { expectError, expectInvalidFields } from '../../support/http-expect';
import { eventually } from '../../support/wait';

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const KEY_PATTERN = /^eg_[A-Za-z0-9_-]{43}$/;

describe('API-key management (e2e)', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startTestApp();
    // A second replica on the same database and Redis (pub/sub channels are not prefixed).
    b = await startTestApp({ database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const create = (body: unknown, as = auth) =>
    a.http
      .post('/api/v1/admin/api-keys')
      .set(as)
      .send(body as object);
  const revoke = (id: string, as = auth, t = a) => t.http.delete(`/api/v1/admin/api-keys/${id}`).set(as);
  const list = (as = auth) => a.http.get('/api/v1/admin/api-keys').set(as);
  const auditRows = (keyId: string) =>
    a.db.query(
      `SELECT action, actor, request_id, details FROM audit_log
        WHERE action LIKE 'api_key.%' AND details->>'key_id' = $1 ORDER BY id`,
      [keyId],
    );

  describe('create', () => {
    it('answers 201 with the key once; stores only its SHA-256; audits the operator', async () => {
      const res = await create({
        name: 'signal-svc',
        permissions: ['VIEW_ORDERS', 'SUBMIT_ORDER'],
        strategies: ['alpha'],
      });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['created_at', 'id', 'key', 'name', 'permissions', 'strategies']);
      expect(res.body).toMatchObject({
        name: 'signal-svc',
        permissions: ['SUBMIT_ORDER', 'VIEW_ORDERS'],
        strategies: ['alpha'],
      });
      expect(res.body.key).toMatch(KEY_PATTERN);
      expect(new Date(res.body.created_at).toISOString()).toBe(res.body.created_at);

      const rows = await a.db.query('SELECT * FROM api_keys WHERE id = $1', [res.body.id]);
      expect(rows).toHaveLength(1);
      expect(rows[0].key_hash).toBe(sha256(res.body.key));
      expect(rows[0].created_by).toBe('admin');
      expect(JSON.stringify(rows[0])).not.toContain(res.body.key);

      const audit = await auditRows(res.body.id);
      expect(audit).toEqual([
        {
          action: 'api_key.created',
          actor: 'admin',
          request_id: res.headers['x-request-id'],
          details: expect.objectContaining({ name: 'signal-svc', operator_key_id: 'admin' }),
        },
      ]);
      expect(JSON.stringify(audit)).not.toContain(res.body.key);

      // The key works, with exactly its permissions.
      const key = { Authorization: `Bearer ${res.body.key}` };
      expect((await a.http.get('/api/v1/orders').set(key)).status).toBe(200);
      expectError(await a.http.get('/api/v1/positions').set(key), 403, 'PERMISSION_DENIED');
      // Every creation gives a different key.
      const again = await create({ name: 'signal-svc-2', permissions: ['VIEW_ORDERS'], strategies: ['*'] });
      expect(again.body.key).not.toBe(res.body.key);
    });

    it('a key created by another key records that key as the operator', async () => {
      const operator = await createKey(a, ['MANAGE_API_KEYS', 'VIEW_PNL'], ['*'], { name: 'key-admin-jane' });
      const res = await create({ name: 'made-by-jane', permissions: ['VIEW_PNL'], strategies: ['*'] }, operator.auth);
      expect(res.status).toBe(201);
      const [row] = await a.db.query('SELECT created_by FROM api_keys WHERE id = $1', [res.body.id]);
      expect(row.created_by).toBe('key-admin-jane');
      const audit = await auditRows(res.body.id);
      expect(audit).toEqual([
        expect.objectContaining({
          actor: 'key-admin-jane',
          details: expect.objectContaining({ operator_key_id: operator.id }),
        }),
      ]);
    });

    it.each([
      [{ name: 'x', permissions: ['SUBMIT_ORDER', 'ROOT'], strategies: ['*'] }, ['permissions']],
      [{ name: 'x', permissions: ['SUBMIT_ORDER'], strategies: [] }, ['strategies']],
      [{ name: '', permissions: ['SUBMIT_ORDER'], strategies: ['*'] }, ['name']],
      [{ name: 'admin', permissions: ['SUBMIT_ORDER'], strategies: ['*'] }, ['name']],
      [{ name: 'x', permissions: 'SUBMIT_ORDER', strategies: 'alpha' }, ['permissions', 'strategies']],
      [{ name: 'x', permissions: ['SUBMIT_ORDER'], strategies: ['*'], key: 'eg_chosen' }, ['key']],
      [{}, ['name', 'permissions', 'strategies']],
    ])('refuses %j with 422 naming %j, writing nothing', async (body, fields) => {
      const before = await a.db.query('SELECT count(*)::int AS n FROM api_keys');
      expectInvalidFields(await create(body), fields);
      expect(await a.db.query('SELECT count(*)::int AS n FROM api_keys')).toEqual(before);
    });
  });

  describe('list', () => {
    it('lists keys without secrets or hashes', async () => {
      const made = await createKey(a, ['VIEW_POSITIONS'], ['beta', 'gamma'], { name: 'listed-key' });
      const res = await list();
      expect(res.status).toBe(200);
      const entry = (res.body as Array<Record<string, unknown>>).find((k) => k.id === made.id);
      expect(entry).toEqual({
        id: made.id,
        name: 'listed-key',
        key_prefix: made.key.slice(0, 10),
        permissions: ['VIEW_POSITIONS'],
        strategies: ['beta', 'gamma'],
        created_at: expect.any(String),
        created_by: 'admin',
        revoked_at: null,
        revoked_by: null,
        last_used_at: null,
      });
      expect(res.text).not.toContain(made.key);
      expect(res.text).not.toContain(sha256(made.key));
      expect(res.text).not.toContain('key_hash');
      expect(res.text).not.toContain(TEST_ADMIN_KEY);
    });

    it('records when a key was last used', async () => {
      const made = await createKey(a, ['VIEW_ORDERS']);
      expect((await a.http.get('/api/v1/orders').set(made.auth)).status).toBe(200);
      const used = await eventually(
        async () =>
          ((await list()).body as Array<{ id: string; last_used_at: string | null }>).find((k) => k.id === made.id),
        (k) => !!k?.last_used_at,
      );
      expect(used?.last_used_at).toEqual(expect.any(String));
    });
  });

  describe('revoke', () => {
    it('revokes softly and at once here; idempotent; audited once with the operator', async () => {
      const made = await createKey(a, ['VIEW_ORDERS']);
      expect((await a.http.get('/api/v1/orders').set(made.auth)).status).toBe(200); // now cached
      const res = await revoke(made.id);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: made.id, revoked_by: 'admin', revoked_at: expect.any(String) });
      expectError(await a.http.get('/api/v1/orders').set(made.auth), 401, 'INVALID_API_KEY');

      const again = await revoke(made.id);
      expect(again.status).toBe(200);
      expect(again.body.revoked_at).toBe(res.body.revoked_at);
      expect(await a.db.query('SELECT count(*)::int AS n FROM api_keys WHERE id = $1', [made.id])).toEqual([{ n: 1 }]);
      const audit = await auditRows(made.id);
      expect(audit.map((r: { action: string }) => r.action)).toEqual(['api_key.created', 'api_key.revoked']);
      expect(audit[1]).toMatchObject({ actor: 'admin', request_id: res.headers['x-request-id'] });
    });

    it('stops the key on another replica within about a second', async () => {
      const made = await createKey(a, ['VIEW_ORDERS']);
      // Warm replica B's 10 s lookup cache with the key.
      expect((await b.http.get('/api/v1/orders').set(made.auth)).status).toBe(200);
      expect((await b.http.get('/api/v1/orders').set(made.auth)).status).toBe(200);
      expect((await revoke(made.id)).status).toBe(200);
      const started = Date.now();
      const status = await eventually(
        async () => (await b.http.get('/api/v1/orders').set(made.auth)).status,
        (s) => s === 401,
        5_000,
      );
      expect(status).toBe(401);
      expect(Date.now() - started).toBeLessThan(1_500);
    });

    it('404 for an unknown id, for a malformed one, and for the ADMIN_API_KEY (not a stored key)', async () => {
      expectError(await revoke('6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6'), 404, 'API_KEY_NOT_FOUND');
      expectError(await revoke('not-a-uuid'), 404, 'API_KEY_NOT_FOUND');
      expectError(await revoke('admin'), 404, 'API_KEY_NOT_FOUND');
      expect((await a.http.get('/api/v1/orders').set(auth)).status).toBe(200);
    });

    it('a key cannot revoke itself (409) but another key can revoke it', async () => {
      const self = await createKey(a, ['MANAGE_API_KEYS']);
      expectError(await revoke(self.id, self.auth), 409, 'API_KEY_SELF_REVOCATION');
      expect((await list(self.auth)).status).toBe(200);
      const other = await createKey(a, ['MANAGE_API_KEYS']);
      expect((await revoke(self.id, other.auth)).status).toBe(200);
      expectError(await list(self.auth), 401, 'INVALID_API_KEY');
    });

    it('every management endpoint needs MANAGE_API_KEYS', async () => {
      const everythingElse = await createKey(
        a,
        PERMISSIONS.filter((p) => p !== 'MANAGE_API_KEYS'),
      );
      const target = await createKey(a, ['VIEW_ORDERS']);
      expectError(await list(everythingElse.auth), 403, 'PERMISSION_DENIED');
      expectError(
        await create({ name: 'n', permissions: ['VIEW_ORDERS'], strategies: ['*'] }, everythingElse.auth),
        403,
        'PERMISSION_DENIED',
      );
      expectError(await revoke(target.id, everythingElse.auth), 403, 'PERMISSION_DENIED');
      expect((await a.http.get('/api/v1/orders').set(target.auth)).status).toBe(200);
    });
  });

  describe('npm run keys (the command behind it)', () => {
    const run = async (argv: string[]) => {
      let out = '';
      let err = '';
      const code = await runKeysCli(
        argv,
        {
          DATABASE_URL: a.database.url,
          REDIS_URL: TEST_REDIS_URL,
          // The deployment's prefix: the revocation is announced on its channel.
          REDIS_KEY_PREFIX: a.config.redis.keyPrefix,
          LOG_LEVEL: 'silent',
        },
        { out: (t) => void (out += t), err: (t) => void (err += t) },
      );
      return { code, out, err };
    };

    it('create prints the key once; it works; list shows no secret; revoke stops it on the running replicas', async () => {
      const made = await run([
        'create',
        '--name',
        'cli-made',
        '--permissions',
        'VIEW_ORDERS,VIEW_PNL',
        '--strategies',
        'alpha,beta',
      ]);
      expect(made.err).toBe('');
      expect(made.code).toBe(0);
      const keys = made.out.match(/eg_[A-Za-z0-9_-]{43}/g) ?? [];
      expect(keys).toHaveLength(1);
      const key = keys[0] ?? '';
      const [row] = await a.db.query(
        'SELECT id, key_hash, created_by, permissions, strategies FROM api_keys WHERE name = $1',
        ['cli-made'],
      );
      expect(row).toMatchObject({
        key_hash: sha256(key),
        created_by: 'cli',
        permissions: ['VIEW_ORDERS', 'VIEW_PNL'],
        strategies: ['alpha', 'beta'],
      });
      const [audit] = await auditRows(row.id);
      expect(audit).toMatchObject({
        action: 'api_key.created',
        actor: 'cli',
        details: expect.objectContaining({ operator_key_id: null }),
      });
      const keyAuth = { Authorization: `Bearer ${key}` };
      expect((await a.http.get('/api/v1/orders').set(keyAuth)).status).toBe(200);
      expect((await b.http.get('/api/v1/orders').set(keyAuth)).status).toBe(200);

      const listed = await run(['list', '--json']);
      expect(listed.code).toBe(0);
      expect(listed.out).not.toContain(key);
      expect(listed.out).not.toContain(row.key_hash);
      expect((JSON.parse(listed.out) as Array<{ id: string }>).map((k) => k.id)).toContain(row.id);
      expect((await run(['list'])).out).toContain(row.id);

      const revoked = await run(['revoke', row.id]);
      expect(revoked.code).toBe(0);
      expect(revoked.out).toContain(row.id);
      for (const t of [a, b]) {
        const s = await eventually(
          async () => (await t.http.get('/api/v1/orders').set(keyAuth)).status,
          (st) => st === 401,
          3_000,
        );
        expect(s).toBe(401);
      }
      const audit2 = await auditRows(row.id);
      expect(audit2.map((r: { action: string; actor: string }) => [r.action, r.actor])).toEqual([
        ['api_key.created', 'cli'],
        ['api_key.revoked', 'cli'],
      ]);
    });

    it.each([
      [['create', '--name', 'x', '--permissions', 'SUBMIT_ORDER,NOPE', '--strategies', '*'], '--permissions'],
      [['create', '--name', 'x', '--permissions', 'SUBMIT_ORDER', '--strategies', ''], '--strategies'],
      [['create', '--name', 'x', '--permissions', 'SUBMIT_ORDER'], '--strategies'],
      [['create', '--name', 'system', '--permissions', 'SUBMIT_ORDER', '--strategies', '*'], '--name'],
      [['create', '--name', 'x', '--permissions', 'SUBMIT_ORDER', '--strategies', '*', '--role', 'x'], '--role'],
      [['revoke'], 'ID'],
      [['revoke', 'abc'], 'ID'],
      [['frobnicate'], 'frobnicate'],
      [[], 'command'],
    ])('%j exits 1 naming %s and writes nothing', async (argv, named) => {
      const before = await a.db.query('SELECT count(*)::int AS n FROM api_keys');
      const res = await run(argv);
      expect(res.code).toBe(1);
      expect(res.out).toBe('');
      expect(res.err).toContain(named);
      expect(await a.db.query('SELECT count(*)::int AS n FROM api_keys')).toEqual(before);
    });

    it('revoking an unknown id exits 1', async () => {
      const res = await run(['revoke', '6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6']);
      expect(res.code).toBe(1);
      expect(res.err).toContain('6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6');
    });

    it('a bad configuration exits 1 naming the variable', async () => {
      let err = '';
      const code = await runKeysCli(
        ['list'],
        { DATABASE_URL: 'mysql://nope', LOG_LEVEL: 'silent' },
        { out: () => undefined, err: (t) => void (err += t) },
      );
      expect(code).toBe(1);
      expect(err).toContain('DATABASE_URL');
    });
  });
});
