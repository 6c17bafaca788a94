import { randomUUID } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '../../config/app-config';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

type WithId = IncomingMessage & { id?: string };

/**
 * Runs first: the caller's X-Request-Id when it is sane, else a fresh one,
 * set on the request (for logs and error bodies) and echoed in the response.
 */
export function requestIdMiddleware(req: WithId, res: ServerResponse, next: () => void): void {
  const given = req.headers['x-request-id'];
  req.id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', req.id);
  next();
}

/**
 * Structured JSON logs (pino): every line of a request carries its request id;
 * credentials are redacted wherever they would appear.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // The client_order_id a handler assigns also lands on the "request completed" line.
        assignResponse: true,
        pinoHttp: {
          level: config.logLevel,
          genReqId: (req: WithId) => req.id ?? randomUUID(),
          customProps: () => ({ service: 'execution-gateway' }),
          redact: {
            paths: [
              'req.headers.authorization',
              'req.headers["x-api-key"]',
              'req.headers["x-internal-signature"]',
              'req.headers["x-alpaca-signature"]',
              'req.headers.cookie',
              'res.headers["set-cookie"]',
            ],
            censor: '[redacted]',
          },
          // Probes and scrapes would drown the log.
          autoLogging: {
            ignore: (req: IncomingMessage) => /^\/(health|metrics)(\/|$|\?)/.test(req.url ?? ''),
          },
          serializers: {
            req: (req: { id: unknown; method: string; url: string }) => ({
              id: req.id,
              method: req.method,
              url: req.url,
            }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
