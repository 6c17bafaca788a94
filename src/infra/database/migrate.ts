/** `npm run migration:run`: applies pending migrations to DATABASE_URL and exits. */
import { redactUrl } from '../redact-url';
import { createDataSource, runMigrations } from './data-source';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('DATABASE_URL is not set (the embedded database migrates itself at start)\n');
    process.exit(1);
  }
  const ds = createDataSource({ url, poolSize: 2, applicationName: 'execution-gateway-migrate' });
  await ds.initialize();
  try {
    const applied = await runMigrations(ds);
    process.stdout.write(
      applied.length ? `applied to ${redactUrl(url)}: ${applied.join(', ')}\n` : `${redactUrl(url)} is up to date\n`,
    );
  } finally {
    await ds.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
