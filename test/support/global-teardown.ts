import { withAdmin } from './database';

/** Drops this run's template database (test files drop their own copies). */
export default async function globalTeardown(): Promise<void> {
  const template = process.env.EG_TEST_TEMPLATE_DB;
  if (!template) return;
  await withAdmin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`)));
}
