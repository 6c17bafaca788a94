import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { logFields } from '../infra/http/request-observer.middleware';
import { DomainError, ErrorKind } from './domain-error';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 422,
  malformed: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rejected: 422,
  rate_limited: 429,
  unavailable: 503,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'VALIDATION_FAILED',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** Errors raised by Express' body parser before Nest routes the request. */
const BODY_PARSER_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  'entity.parse.failed': { status: 400, code: 'MALFORMED_JSON', message: 'Request body is not valid JSON' },
  'entity.too.large': { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  'encoding.unsupported': { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported content encoding' },
  'charset.unsupported': { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Unsupported charset' },
  'request.aborted': { status: 400, code: 'BAD_REQUEST', message: 'Request aborted' },
  'request.size.invalid': { status: 400, code: 'BAD_REQUEST', message: 'Request size did not match Content-Length' },
};

export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
  request_id: string | null;
}

/**
 * The single place errors become HTTP: `{error, message, details?, request_id}`.
 * Never a stack trace; anything unexpected is a 500 with a generic message and
 * the detail goes to the log.
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request & { id?: string }>();
    const { status, body, retryAfter } = this.toResponse(exception);
    body.request_id = req?.id !== undefined ? String(req.id) : null;
    if (status >= 500 && !(exception instanceof DomainError) && !(exception instanceof HttpException)) {
      this.logger.error({ err: exception, request_id: body.request_id }, 'unhandled error');
    }
    if (exception instanceof DomainError && typeof exception.details?.client_order_id === 'string') {
      logFields(res).clientOrderId = exception.details.client_order_id;
    }
    // The access log line carries the code, so two 503s (KILL_SWITCH_ENGAGED, SYMBOL_QUARANTINED) can be told apart.
    logFields(res).errorCode = body.error;
    if (res.headersSent) return;
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    res.status(status).json(body);
  }

  private toResponse(exception: unknown): { status: number; body: ErrorBody; retryAfter?: number } {
    if (exception instanceof DomainError) {
      return {
        status: STATUS_BY_KIND[exception.kind],
        body: {
          error: exception.code,
          message: exception.message,
          ...(exception.details ? { details: exception.details } : {}),
          request_id: null,
        },
        retryAfter: exception.retryAfterSeconds,
      };
    }
    const parserError = bodyParserError(exception);
    if (parserError) {
      return {
        status: parserError.status,
        body: { error: parserError.code, message: parserError.message, request_id: null },
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      let message = exception.message;
      let details: unknown;
      if (typeof response === 'object' && response !== null) {
        const r = response as Record<string, unknown>;
        if (typeof r.message === 'string') message = r.message;
        // Terminus answers 503 with the health result; keep it as details.
        if ('status' in r && ('info' in r || 'error' in r)) details = r;
      }
      return {
        status,
        body: {
          error: CODE_BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'HTTP_ERROR'),
          message,
          ...(details !== undefined ? { details } : {}),
          request_id: null,
        },
      };
    }
    if (isDatabaseUnreachable(exception)) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        body: {
          error: 'DATABASE_UNAVAILABLE',
          message:
            'The database cannot be reached; the request may or may not have taken effect: retry it with the same client_order_id (a retry never creates a second order)',
          request_id: null,
        },
        retryAfter: 1,
      };
    }
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: { error: 'INTERNAL_ERROR', message: 'Internal error', request_id: null },
    };
  }
}

/** Socket errors, and PostgreSQL's class 08 (connection exception) and 57P0x (shutting down). */
const UNREACHABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
const UNREACHABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/**
 * The database connection failed under a request (lost mid-query, refused,
 * pool timed out): a 503 the client may retry, not a 500. TypeORM wraps the
 * driver's error (`driverError`); pg's own errors carry `code`.
 */
export function isDatabaseUnreachable(e: unknown): boolean {
  for (
    let err = e as { code?: unknown; message?: unknown; driverError?: unknown } | undefined, depth = 0;
    err && depth < 3;
    depth++
  ) {
    const code = typeof err.code === 'string' ? err.code : '';
    if (UNREACHABLE_CODES.has(code) || code.startsWith('08') || /^57P0[1-3]$/.test(code)) return true;
    if (typeof err.message === 'string' && UNREACHABLE_MESSAGES.test(err.message)) return true;
    err = err.driverError as typeof err;
  }
  return false;
}

function bodyParserError(e: unknown): { status: number; code: string; message: string } | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  // Nest wraps the parser's error in an HttpException and keeps it as the cause.
  const err = e as { type?: unknown; cause?: { type?: unknown } };
  const type = err.type ?? err.cause?.type;
  return typeof type === 'string' ? BODY_PARSER_ERRORS[type] : undefined;
}

/** The last handler in the chain: an unknown route, in the API's error shape. */
export function notFoundResponder(req: Request & { id?: string }, res: Response): void {
  const body: ErrorBody = {
    error: 'NOT_FOUND',
    message: `Cannot ${req.method} ${req.path}`,
    request_id: req.id ?? null,
  };
  logFields(res).errorCode = body.error;
  res.status(404).json(body);
}
