import { DynamicModule, Global, Module, Provider } from '@nestjs/common';

/**
 * The composition root's seams: a provider handed in here (a test's broker or
 * market-data adapter) is visible to every module, which picks it up by its
 * token as an optional dependency. Feature modules stay plain, non-global
 * modules; only this carrier is global.
 */
@Global()
@Module({})
export class OverridesModule {
  static forRoot(providers: Array<Provider & { provide: string | symbol }>): DynamicModule {
    return {
      module: OverridesModule,
      global: true,
      providers,
      exports: providers.map((p) => p.provide),
    };
  }
}
