import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { redactUrl } from '../logging/redact-query';
import { GatewayMetrics } from '../metrics/gateway-metrics';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Probes and scrapes would drown the access log. */
const QUIET = /^\/(health|metrics)(\/|$|\?)/;

/** What handlers leave on `res.locals` for the access log. */
export interface RequestLogFields {
  clientOrderId?: string;
  /** The `error` code of an error answer (set by the exception filter), e.g. SYMBOL_QUARANTINED. */
  errorCode?: string;
}

export function logFields(res: Response): RequestLogFields {
  return (res.locals ??= {}) as RequestLogFields;
}

/**
 * The first thing every request meets, and the last word on it:
 * - a request id (the caller's X-Request-Id when sane, else a fresh one), set on
 *   the request for error bodies and audit rows and echoed in the response;
 * - the latency histogram, labelled by route template;
 * - one structured "request completed" log line with the request id and, where
 *   a handler set one, the client_order_id, and on an error answer its code
 *   (`error_code`, which tells two 503s apart); credentials in the URL's query
 *   string are redacted (docs/security.md#secrets-in-logs).
 * One middleware and one log line per request, rather than a child logger and
 * an async context per request: the order path's budget is tight.
 */
@Injectable()
export class RequestObserverMiddleware {
  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext('http');
  }

  use(req: Request & { id?: string }, res: Response, next: NextFunction): void {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    const start = process.hrtime.bigint();
    // 'close' also fires when the client goes away first (an aborted event stream never 'finish'es).
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      this.metrics.httpRequest(req.method, route, res.statusCode, seconds);
      if (QUIET.test(req.originalUrl) || !this.logger.logger.isLevelEnabled('info')) return;
      const fields = logFields(res);
      this.logger.info(
        {
          request_id: id,
          method: req.method,
          url: redactUrl(req.originalUrl),
          status_code: res.statusCode,
          duration_ms: Math.round(seconds * 1000),
          ...(fields.clientOrderId ? { client_order_id: fields.clientOrderId } : {}),
          ...(fields.errorCode ? { error_code: fields.errorCode } : {}),
        },
        'request completed',
      );
    });
    next();
  }
}
