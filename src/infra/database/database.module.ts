import { Global, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { createDataSource, runMigrations, warmPool } from './data-source';
import { EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded-postgres';
import { redactUrl } from '../redact-url';
import { UnitOfWork } from './unit-of-work';

/** Holds the embedded PostgreSQL, when one was started, so shutdown can stop it. */
@Injectable()
export class EmbeddedPostgresHolder {
  handle?: EmbeddedPostgresHandle;
}

@Injectable()
export class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(
    private readonly ds: DataSource,
    private readonly embedded: EmbeddedPostgresHolder,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
    await this.embedded.handle?.stop();
  }
}

@Global()
@Module({
  providers: [
    EmbeddedPostgresHolder,
    {
      provide: DataSource,
      inject: [APP_CONFIG, EmbeddedPostgresHolder],
      useFactory: async (config: AppConfig, holder: EmbeddedPostgresHolder) => {
        const logger = new Logger('Database');
        let url = config.database.url;
        if (!url) {
          holder.handle = await startEmbeddedPostgres(config.database.embeddedDir, config.database.embeddedPort, {
            info: (line) => logger.log(line),
            debug: (line) => logger.debug(line),
          });
          url = holder.handle.url;
          logger.log(
            `database: embedded PostgreSQL on 127.0.0.1:${config.database.embeddedPort}, data in ${holder.handle.dataDir} (set DATABASE_URL to use your own)`,
          );
        } else {
          logger.log(`database: PostgreSQL at ${redactUrl(url)}`);
        }
        const ds = createDataSource({ url, poolSize: config.database.poolSize });
        await ds.initialize();
        const applied = await runMigrations(ds);
        if (applied.length) logger.log(`migrations applied: ${applied.join(', ')}`);
        await warmPool(ds, config.database.poolSize);
        return ds;
      },
    },
    DatabaseLifecycle,
    UnitOfWork,
  ],
  exports: [DataSource, UnitOfWork],
})
export class DatabaseModule {}
