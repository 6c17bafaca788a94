import 'reflect-metadata';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory';
import { BootstrapKeyNotice, bootstrapKeyBox } from './auth/bootstrap-key';
import { AppConfig, loadConfig } from './config/app-config';
import { createRootLogger, resolveLogFormat } from './infra/logging/pino-options';
import { describeStartupFailure } from './infra/logging/startup-failure';

/** One line naming the cause and the fix, in the log format, then exit (docs/operations.md#troubleshooting). */
function fail(err: unknown, config?: AppConfig): never {
  const log = createRootLogger('info', resolveLogFormat(config?.logFormat ?? process.env.LOG_FORMAT));
  const reason = describeStartupFailure(err, { port: config?.port ?? 8002, host: config?.host });
  log.fatal({ context: 'Main' }, `execution gateway failed to start: ${reason}`);
  process.exit(1);
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (err) {
    fail(err);
  }
  let app: NestExpressApplication | undefined;
  try {
    app = await createApp(config);
    if (config.host) await app.listen(config.port, config.host);
    else await app.listen(config.port);
  } catch (err) {
    // Stops the embedded PostgreSQL and closes pools before the process exits.
    await app?.close().catch(() => undefined);
    fail(err, config);
  }
  const shown = config.host && !['0.0.0.0', '::'].includes(config.host) ? config.host : 'localhost';
  new Logger('Main').log(
    `execution gateway listening on http://${shown}:${config.port} (${config.host ?? 'all interfaces'}; dry_run=${config.dryRun}, docs at http://${shown}:${config.port}/docs)`,
  );
  // Last, so it does not scroll away among the start-up lines.
  const notice = app.get(BootstrapKeyNotice, { strict: false });
  if (notice.key) process.stdout.write(bootstrapKeyBox(notice.key, notice.file));
}

main().catch((err: unknown) => fail(err));
