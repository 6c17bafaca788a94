import { createDataSource, runMigrations } from '../../src/infra/database/data-source';
import {
  databaseUrl,
  STALE_AFTER_MS,
  stampedName,
  stampOf,
  TEMPLATE_PREFIX,
  TEST_DB_PREFIX,
  withAdmin,
} from './database';
import { newRunId } from './redis-keys';

/**
 * Migrates a fresh template database once per run; each test file copies it.
 * Leftovers of earlier runs (older than STALE_AFTER_MS, or unstamped) are
 * dropped; databases of a run going on beside this one are left alone.
 * Also names the run, so its Redis keys can be found and deleted at the end.
 */
export default async function globalSetup(): Promise<void> {
  // Every Redis key prefix of this run starts with eg_test:<run>: (test/support/redis-keys.ts).
  process.env.EG_TEST_RUN_ID ??= newRunId();
  const template = stampedName(TEMPLATE_PREFIX);
  process.env.EG_TEST_TEMPLATE_DB = template;
  await withAdmin(async (c) => {
    const existing = await c.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname LIKE $2 OR datname = 'eg_template'`,
      [`${TEMPLATE_PREFIX}%`, `${TEST_DB_PREFIX}%`],
    );
    for (const { datname } of existing.rows) {
      const stamp = stampOf(datname);
      if (stamp === null || Date.now() - stamp > STALE_AFTER_MS) {
        await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      }
    }
    await c.query(`CREATE DATABASE ${template}`);
  });
  const ds = createDataSource({ url: databaseUrl(template), poolSize: 2 });
  await ds.initialize();
  try {
    await runMigrations(ds);
  } finally {
    await ds.destroy();
  }
}
