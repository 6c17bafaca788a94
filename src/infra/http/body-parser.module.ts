import { Inject, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { json } from 'express';
import { APP_CONFIG, AppConfig } from '../../config/app-config';

/**
 * JSON body parsing as Nest middleware, imported after the logging module so a
 * malformed or oversized body is parsed (and refused) after the request logger
 * is attached: the 400/413 is logged like any other answer.
 */
@Module({})
export class BodyParserModule implements NestModule {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(
        json({
          limit: this.config.bodyLimitBytes,
          // Any JSON value parses; a body that is not an object gets a 422 naming it, not a parse error.
          strict: false,
          // Webhook signatures are computed over the exact bytes received.
          verify: (req, _res, buf) => {
            (req as unknown as { rawBody?: Buffer }).rawBody = buf;
          },
        }),
      )
      .forRoutes({ path: '{*splat}', method: RequestMethod.ALL });
  }
}
