/**
 * The one place where Alpaca failures become BrokerErrors (docs/architecture.md#timeouts-are-not-rejections).
 *
 * Invariants:
 * - only the broker's definitive word is `rejected` (400/403/422 and other
 *   definitive 4xx); a timeout, abort, network failure, 408 or 5xx is
 *   `unknown_outcome`, because the request may have been acted on;
 * - anything unrecognised is `unknown_outcome` (the safe side: it is resolved by lookup);
 * - errors are matched by `name` and `status`, never `instanceof`: the SDK's
 *   testing entry bundles its own copies of the error classes, and inside a VM
 *   realm (Jest) the SDK's own `instanceof Error` checks fail, so a transport
 *   failure can arrive as the raw `TypeError: fetch failed` instead of a FetchError.
 */
import { BrokerError } from '../broker-client.port';

/** Used when a 429 carries neither Retry-After nor X-RateLimit-Reset. */
export const DEFAULT_RETRY_AFTER_MS = 1000;

/** A request the adapter refused to send (malformed input): definitive, nothing reached the broker. */
export class AlpacaRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlpacaRequestError';
  }
}

/** A 2xx answer the adapter could not read: the broker may have acted, so the outcome is unknown. */
export class AlpacaParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlpacaParseError';
  }
}

/** Shape of the SDK's ApiError family and FetchError, read structurally. */
interface ErrorLike {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  code?: unknown;
  retryAfterMs?: unknown;
  requestId?: unknown;
  cause?: unknown;
}

/**
 * Alpaca reports a duplicate client_order_id as 422 code 40010001, a code it also
 * uses for other validation failures, so the message must name the id too.
 */
export function isDuplicateClientOrderId(status: number | undefined, code: unknown, message: string): boolean {
  return status === 422 && String(code) === '40010001' && /client_order_id/i.test(message) && /unique/i.test(message);
}

export interface ClassifyHints {
  /** The caller's own deadline fired: say so rather than the SDK's generic "aborted". */
  deadlineExceededMs?: number;
}

export function classifyAlpacaError(err: unknown, operation = 'request', hints: ClassifyHints = {}): BrokerError {
  if (err instanceof BrokerError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const name = typeof e.name === 'string' ? e.name : undefined;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);

  if (typeof e.status === 'number') return classifyStatus(e, e.status, message, operation, err);

  const unknown = (why: string): BrokerError =>
    new BrokerError('unknown_outcome', `Alpaca ${operation}: ${why}; the outcome is unknown`, { cause: err });
  const causeName = (e.cause as { name?: unknown } | undefined)?.name;
  const aborted =
    name === 'AbortError' || name === 'TimeoutError' || causeName === 'AbortError' || causeName === 'TimeoutError';
  if (hints.deadlineExceededMs !== undefined && (aborted || name === 'FetchError')) {
    return unknown(`deadline of ${hints.deadlineExceededMs} ms exceeded`);
  }
  if (name === 'TypeError' && message === 'fetch failed') return unknown(`network failure (${describeCause(e.cause)})`);

  switch (name) {
    case 'FetchError':
      return unknown(
        causeName === 'TimeoutError'
          ? 'deadline exceeded'
          : causeName === 'AbortError'
            ? 'aborted'
            : `network failure (${describeCause(e.cause)})`,
      );
    case 'TimeoutError':
      return unknown('deadline exceeded');
    case 'AbortError':
      return unknown('aborted');
    case 'AlpacaRequestError':
    case 'RequiredError':
      return new BrokerError('rejected', `Alpaca ${operation}: not sent: ${message}`, {
        code: 'invalid_request',
        cause: err,
      });
    case 'AlpacaParseError':
      return new BrokerError('unknown_outcome', `Alpaca ${operation}: unreadable answer: ${message}`, { cause: err });
    default:
      return new BrokerError('unknown_outcome', `Alpaca ${operation}: ${message}`, { cause: err });
  }
}

function classifyStatus(e: ErrorLike, status: number, message: string, operation: string, err: unknown): BrokerError {
  const code = typeof e.code === 'number' || typeof e.code === 'string' ? e.code : undefined;
  const requestId = typeof e.requestId === 'string' ? ` [request ${e.requestId}]` : '';
  const text = `Alpaca ${operation}: HTTP ${status}${code === undefined ? '' : ` (${code})`}: ${message}${requestId}`;
  const details = { status, code, cause: err };
  if (status === 401) return new BrokerError('auth', text, details);
  if (status === 404) return new BrokerError('not_found', text, details);
  if (status === 429) {
    const retryAfterMs =
      typeof e.retryAfterMs === 'number' && Number.isFinite(e.retryAfterMs) ? e.retryAfterMs : DEFAULT_RETRY_AFTER_MS;
    return new BrokerError('retryable', text, { ...details, retryAfterMs });
  }
  if (isDuplicateClientOrderId(status, code, message)) {
    return new BrokerError('rejected', text, { ...details, duplicateClientOrderId: true });
  }
  if (status === 422 && operation === 'cancelOrder') {
    return new BrokerError('rejected', `Alpaca cancelOrder: order is not cancelable: ${message}${requestId}`, details);
  }
  // 408: the server gave up waiting, possibly after acting. 5xx: may have been acted on.
  if (status === 408 || status >= 500) return new BrokerError('unknown_outcome', text, details);
  if (status >= 400) return new BrokerError('rejected', text, details);
  return new BrokerError('unknown_outcome', text, details);
}

function describeCause(cause: unknown): string {
  if (typeof cause !== 'object' || cause === null) return String(cause);
  const c = cause as { message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const inner = c.cause?.code ?? c.cause?.message;
  return [c.message, inner].filter((x) => typeof x === 'string' && x !== '').join(': ') || 'unknown';
}
