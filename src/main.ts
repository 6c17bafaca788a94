import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { ConfigError, loadConfig } from './config/app-config';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const app = await createApp(config);
  await app.listen(config.port);
  new Logger('Main').log(
    `execution gateway listening on port ${config.port} (dry_run=${config.dryRun}, docs at http://localhost:${config.port}/docs)`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`execution gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
