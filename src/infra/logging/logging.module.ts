import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '../../config/app-config';

/**
 * Structured JSON logs (pino) for the whole application. Requests are logged
 * by RequestObserverMiddleware (one line each, with the request id), so the
 * library's own per-request middleware is not mounted. Credentials are redacted
 * wherever they would appear.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        forRoutes: [],
        pinoHttp: {
          level: config.logLevel,
          base: { service: 'execution-gateway' },
          redact: {
            paths: [
              '*.authorization',
              '*["x-api-key"]',
              '*["x-internal-signature"]',
              '*["x-alpaca-signature"]',
              '*.cookie',
            ],
            censor: '[redacted]',
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
