import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../clock/clock';
import { redactUrl } from '../redact-url';
import { MemoryStateStore } from './memory-state-store';
import { RedisStateStore } from './redis-state-store';
import { StateStore } from './state-store';

@Injectable()
class StateStoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(StateStore) private readonly store: StateStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: StateStore,
      inject: [APP_CONFIG, Clock],
      useFactory: async (config: AppConfig, clock: Clock): Promise<StateStore> => {
        const logger = new Logger('StateStore');
        if (!config.redis.url) {
          logger.warn(
            'state store: in-process (no REDIS_URL): correct for a single replica only; set REDIS_URL to scale out',
          );
          return new MemoryStateStore(clock);
        }
        try {
          const store = await RedisStateStore.connect(config.redis.url, config.redis.keyPrefix);
          logger.log(`state store: Redis at ${redactUrl(config.redis.url)}`);
          return store;
        } catch (err) {
          throw new Error(
            `cannot reach Redis at ${redactUrl(config.redis.url)} (REDIS_URL/REDIS_HOST): ${(err as Error).message}`,
            { cause: err },
          );
        }
      },
    },
    StateStoreLifecycle,
  ],
  exports: [StateStore],
})
export class StateModule {}
