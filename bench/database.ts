/** The benchmark's own PostgreSQL database: dropped and created fresh on every run. */
import { Client } from 'pg';

export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withAdmin<T>(adminUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Drops `name` (kicking out any leftover connections) and creates it empty; returns its URL. */
export async function recreateDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name: ${name}`);
  await withAdmin(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  return databaseUrl(adminUrl, name);
}

/** Drops `name` (kicking out any leftover connections). */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name: ${name}`);
  await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * Flushes dirty pages between runs so one run's writes are not paid for by a
 * checkpoint during the next. Needs superuser (or pg_checkpoint); skipped
 * quietly when the admin role lacks it.
 */
export async function checkpoint(adminUrl: string): Promise<boolean> {
  try {
    await withAdmin(adminUrl, (c) => c.query('CHECKPOINT'));
    return true;
  } catch {
    return false;
  }
}
