import { withAdmin } from './database';
import { deleteRedisKeys, runKeyPattern } from './redis-keys';

/**
 * Drops this run's template database (test files drop their own copies) and
 * deletes the Redis keys this run left (test apps delete their own on close;
 * this catches the rest). Another run's keys are not touched.
 */
export default async function globalTeardown(): Promise<void> {
  const template = process.env.EG_TEST_TEMPLATE_DB;
  if (template) {
    await withAdmin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)));
  }
  if (process.env.EG_TEST_RUN_ID) await deleteRedisKeys(runKeyPattern(process.env.EG_TEST_RUN_ID));
}
