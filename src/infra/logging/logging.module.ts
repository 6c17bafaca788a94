import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { redactUrl } from './redact-query';

/** Any `url` (or `req.url`) a log line carries loses the credentials in its query string. */
export function redactLoggedUrls(o: Record<string, unknown>): Record<string, unknown> {
  const req = o.req as { url?: unknown } | undefined;
  if (typeof o.url === 'string') o = { ...o, url: redactUrl(o.url) };
  if (req && typeof req === 'object' && typeof req.url === 'string')
    o = { ...o, req: { ...req, url: redactUrl(req.url) } };
  return o;
}

/**
 * Structured JSON logs (pino) for the whole application. Requests are logged
 * by RequestObserverMiddleware (one line each, with the request id), so the
 * library's own per-request middleware is not mounted. Credentials are redacted
 * wherever they would appear: headers by path, and query strings in any logged
 * URL (docs/security.md#secrets-in-logs).
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
          formatters: { log: redactLoggedUrls },
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
