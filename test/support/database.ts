/**
 * Test databases on the real PostgreSQL: migrations run once into a template
 * database (global setup); every test file gets a cheap copy of it with
 * CREATE DATABASE ... TEMPLATE.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * Names carry the time they were made (base 36 seconds), so a run only sweeps
 * away databases old enough to be leftovers, never those of a run going on
 * beside it. The global setup picks this run's template and hands its name to
 * the test workers through the environment.
 */
export const TEMPLATE_PREFIX = 'eg_tpl_';
export const TEST_DB_PREFIX = 'eg_test_';
export const STALE_AFTER_MS = 2 * 60 * 60 * 1000;

export function stampedName(prefix: string): string {
  return `${prefix}${Math.floor(Date.now() / 1000).toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** When a stamped database was made, or null for a name without a stamp. */
export function stampOf(name: string): number | null {
  const m = /^eg_(?:tpl|test)_([0-9a-z]+)_[0-9a-f]+$/.exec(name);
  return m ? parseInt(m[1], 36) * 1000 : null;
}

export function templateDb(): string {
  const name = process.env.EG_TEST_TEMPLATE_DB;
  if (!name) throw new Error('EG_TEST_TEMPLATE_DB is not set: run the tests through jest (its global setup makes it)');
  return name;
}

export function databaseUrl(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = stampedName(TEST_DB_PREFIX);
  await withAdmin(async (c) => {
    // Copying a template fails while another copy of it is starting; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await c.query(`CREATE DATABASE ${name} TEMPLATE ${templateDb()}`);
        return;
      } catch (err) {
        if (attempt >= 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
