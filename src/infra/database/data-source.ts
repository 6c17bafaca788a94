import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../../migrations';

export interface DataSourceOptions {
  url: string;
  poolSize?: number;
  applicationName?: string;
}

/**
 * The one place a TypeORM DataSource is built: the app, the migration command,
 * the tests and the benchmark all use it. Repositories write SQL themselves;
 * TypeORM gives them the pool, transactions and the migration runner.
 */
export function createDataSource(opts: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: opts.url,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    logging: false,
    applicationName: opts.applicationName ?? 'execution-gateway',
    extra: {
      max: opts.poolSize ?? 20,
      // Connections stay open once made: opening one costs a request several hundred ms.
      min: opts.poolSize ?? 20,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 30_000,
    },
  });
}

/** An arbitrary constant: the advisory lock replicas take while migrating. */
const MIGRATION_LOCK_KEY = 7_342_001;

/**
 * Runs pending migrations under a PostgreSQL advisory lock, so replicas that
 * start together migrate one at a time (the later ones find nothing to do).
 * The lock holds one pooled connection while the migrations use another, so
 * the pool needs at least two.
 */
export async function runMigrations(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await runner.release();
  }
}

/** Opens every pooled connection now, so the first requests after a start do not wait for them. */
export async function warmPool(ds: DataSource, connections: number): Promise<void> {
  await Promise.all(Array.from({ length: connections }, () => ds.query('SELECT 1')));
}
