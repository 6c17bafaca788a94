import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { logDestination, pinoOptions, resolveLogFormat } from './pino-options';

export { redactLoggedUrls } from './pino-options';

/**
 * Structured logs (pino) for the whole application, as JSON lines or pretty
 * (LOG_FORMAT, src/infra/logging/log-format.ts). Requests are logged by
 * RequestObserverMiddleware (one line each, with the request id), so the
 * library's own per-request middleware is not mounted.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        forRoutes: [],
        pinoHttp: [pinoOptions(config.logLevel), logDestination(resolveLogFormat(config.logFormat))],
      }),
    }),
  ],
})
export class LoggingModule {}
