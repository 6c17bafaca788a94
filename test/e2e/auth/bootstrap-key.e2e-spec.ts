/**
 * The bootstrap admin key (docs/configuration.md): without ADMIN_API_KEY and without stored
 * keys, a development start generates a key, stores only its hash, audits it,
 * writes it to a 0600 file and keeps it for the box main.ts prints after the
 * "listening" line (never in the start-up output); a production start refuses to boot.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { BootstrapKeyNotice, bootstrapKeyBox } from '../../../src/auth/bootstrap-key';
import { PERMISSIONS } from '../../../src/auth/permission';
import { startTestApp, TEST_ADMIN_KEY, TestApp } from '../../support/app';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { expectError } from '../../support/http-expect';

const NO_ADMIN_KEY = { ADMIN_API_KEY: undefined };
/** A generated key: `eg_` and 32 random bytes in base64url (which may end in `-` or `_`). */
const KEY_PATTERN = /(?<![A-Za-z0-9_-])eg_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g;

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const keyFile = (): string => join(tmpdir(), `eg-bootstrap-key-${randomBytes(4).toString('hex')}`);
const noticeOf = (t: TestApp): BootstrapKeyNotice => t.app.get(BootstrapKeyNotice, { strict: false });

/** Runs `fn` while capturing what is written to stdout. */
async function captureStdout<T>(fn: () => Promise<T>): Promise<{ result: T; output: string }> {
  let output = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  }) as typeof process.stdout.write);
  try {
    return { result: await fn(), output };
  } finally {
    spy.mockRestore();
  }
}

interface KeyRow {
  id: string;
  name: string;
  key_hash: string;
  key_prefix: string;
  permissions: string[];
  strategies: string[];
  created_by: string;
  revoked_at: Date | null;
}

describe('bootstrap admin key (e2e)', () => {
  describe('development, no ADMIN_API_KEY, no stored keys', () => {
    let database: TestDatabase;
    let t: TestApp | undefined;
    let key: string;
    const file = keyFile();

    beforeAll(async () => {
      database = await createTestDatabase();
      const { result, output } = await captureStdout(() =>
        startTestApp({ database, env: { ...NO_ADMIN_KEY, ENVIRONMENT: 'development', BOOTSTRAP_KEY_FILE: file } }),
      );
      t = result;
      // Not among the start-up lines: main.ts shows it once the gateway listens.
      expect(output.match(KEY_PATTERN)).toBeNull();
      key = noticeOf(t).key ?? '';
      expect(key).toMatch(KEY_PATTERN);
    });
    afterAll(async () => {
      await t?.close();
      await database?.drop();
      rmSync(file, { force: true });
    });

    it('writes the key to a file only its owner can read, saying how to use it, the key on the last line', () => {
      expect(noticeOf(t!).file).toBe(file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, 'utf8');
      expect(text.trimEnd().split('\n').at(-1)).toBe(key);
      expect(text).toContain('Authorization: Bearer <key>');
      expect(text.match(KEY_PATTERN)).toHaveLength(1);
    });

    it('shows the key in a box naming the file', () => {
      const box = bootstrapKeyBox(key, file);
      expect(box.match(KEY_PATTERN)).toEqual([key]);
      expect(box).toContain(file);
      const widths = new Set(
        box
          .split('\n')
          .filter((l) => /^[│┌└]/.test(l))
          .map((l) => l.length),
      );
      expect(widths.size).toBe(1);
    });

    it('stores the generated key hashed, with every permission and every strategy', async () => {
      const rows: KeyRow[] = await t!.db.query('SELECT * FROM api_keys');
      expect(rows).toHaveLength(1);
      const row = rows[0];
      expect(row).toMatchObject({
        name: 'bootstrap-admin',
        key_prefix: key.slice(0, 10),
        strategies: ['*'],
        created_by: 'system',
        revoked_at: null,
      });
      expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.key_hash).toBe(sha256(key));
      expect(row.permissions.slice().sort()).toEqual([...PERMISSIONS].sort());
      // The key itself is nowhere in the row.
      expect(JSON.stringify(row)).not.toContain(key);
    });

    it("audits the key's creation without the key", async () => {
      const rows: Array<{ id: string }> = await t!.db.query(`SELECT id FROM api_keys WHERE name = 'bootstrap-admin'`);
      const audit = await t!.db.query(`SELECT action, actor, details FROM audit_log WHERE action = 'api_key.created'`);
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ action: 'api_key.created', actor: 'system' });
      expect(audit[0].details).toMatchObject({ key_id: rows[0].id, name: 'bootstrap-admin' });
      expect(JSON.stringify(audit)).not.toContain(key);
    });

    it('accepts the printed key as a bearer token and as X-API-Key', async () => {
      const list = await t!.http.get('/api/v1/orders').set('Authorization', `Bearer ${key}`);
      expect(list.status).toBe(200);
      const created = await t!.http
        .post('/api/v1/orders')
        .set('X-API-Key', key)
        .send({ symbol: 'AAPL', side: 'buy', qty: 1 });
      expect(created.status).toBe(201);
      const audit = await t!.db.query('SELECT actor FROM audit_log WHERE client_order_id = $1', [
        created.body.client_order_id,
      ]);
      expect(audit).toEqual([{ actor: 'bootstrap-admin' }]);
    });

    it('does not accept a near miss of the key, nor the unset admin key', async () => {
      expectError(
        await t!.http.get('/api/v1/orders').set('Authorization', `Bearer ${key.slice(0, -1)}x`),
        401,
        'INVALID_API_KEY',
      );
      expectError(
        await t!.http.get('/api/v1/orders').set('Authorization', `Bearer ${TEST_ADMIN_KEY}`),
        401,
        'INVALID_API_KEY',
      );
    });

    it('generates nothing on a restart once a key is stored (even in production), and the key still works', async () => {
      await t!.close();
      t = undefined;
      for (const ENVIRONMENT of ['development', 'production']) {
        const { result, output } = await captureStdout(() =>
          startTestApp({ database, env: { ...NO_ADMIN_KEY, ENVIRONMENT } }),
        );
        t = result;
        expect(output.match(KEY_PATTERN)).toBeNull();
        expect(noticeOf(t).key).toBeUndefined();
        expect((await t.http.get('/api/v1/orders').set('Authorization', `Bearer ${key}`)).status).toBe(200);
        const keys: Array<{ n: string }> = await t.db.query('SELECT count(*) AS n FROM api_keys');
        expect(Number(keys[0].n)).toBe(1);
        const audit: Array<{ n: string }> = await t.db.query(
          `SELECT count(*) AS n FROM audit_log WHERE action = 'api_key.created'`,
        );
        expect(Number(audit[0].n)).toBe(1);
        await t.close();
        t = undefined;
      }
    });
  });

  it('two replicas booting together on an empty database generate one key between them', async () => {
    const database = await createTestDatabase();
    const apps: TestApp[] = [];
    try {
      const { result, output } = await captureStdout(() =>
        Promise.allSettled([0, 1].map(() => startTestApp({ database, env: NO_ADMIN_KEY }))),
      );
      for (const r of result) if (r.status === 'fulfilled') apps.push(r.value);
      expect(result.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(output.match(KEY_PATTERN)).toBeNull();
      expect(apps.filter((a) => noticeOf(a).key)).toHaveLength(1);
      const rows = await apps[0].db.query(`SELECT name FROM api_keys`);
      expect(rows).toEqual([{ name: 'bootstrap-admin' }]);
    } finally {
      for (const a of apps) await a.close();
      await database.drop();
    }
  });

  it('refuses to boot in production without ADMIN_API_KEY and without stored keys', async () => {
    const database = await createTestDatabase();
    const file = keyFile();
    try {
      const { result, output } = await captureStdout(() =>
        startTestApp({ database, env: { ...NO_ADMIN_KEY, ENVIRONMENT: 'production', BOOTSTRAP_KEY_FILE: file } }).then(
          async (app) => {
            await app.close();
            return 'booted';
          },
          (err: Error) => err,
        ),
      );
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toMatch(/ADMIN_API_KEY/);
      expect((result as Error).message).toMatch(/production/);
      expect(output.match(KEY_PATTERN)).toBeNull();
      expect(existsSync(file)).toBe(false);
      // Nothing was generated or stored on the way to refusing.
      const c = new Client({ connectionString: database.url });
      await c.connect();
      try {
        const keys = await c.query('SELECT count(*)::int AS n FROM api_keys');
        const audit = await c.query('SELECT count(*)::int AS n FROM audit_log');
        expect([keys.rows[0].n, audit.rows[0].n]).toEqual([0, 0]);
      } finally {
        await c.end();
      }
    } finally {
      await database.drop();
    }
  });
});
