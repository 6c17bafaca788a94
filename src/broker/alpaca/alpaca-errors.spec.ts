import { errors } from '@alpacahq/alpaca-trade-api';
import { BrokerError } from '../broker-client.port';
import {
  AlpacaParseError,
  AlpacaRequestError,
  classifyAlpacaError,
  DEFAULT_RETRY_AFTER_MS,
  isDuplicateClientOrderId,
} from './alpaca-errors';

function apiError(status: number, code?: number, message = 'boom', retryAfterMs?: number): errors.ApiError {
  const response = new Response(null, { status: status === 204 ? 500 : status });
  const args = [response, status, code, message, undefined, retryAfterMs, 'req-1'] as const;
  switch (status) {
    case 401:
      return new errors.AuthError(...args);
    case 403:
      return new errors.PermissionError(...args);
    case 404:
      return new errors.NotFoundError(...args);
    case 400:
    case 422:
      return new errors.ValidationError(...args);
    case 429:
      return new errors.RateLimitError(...args);
    default:
      return new errors.ApiError(...args);
  }
}

describe('classifyAlpacaError', () => {
  it('422 40010001 "client_order_id must be unique" → rejected, duplicateClientOrderId', () => {
    const e = classifyAlpacaError(apiError(422, 40010001, 'client_order_id must be unique'), 'submitOrder');
    expect(e).toBeInstanceOf(BrokerError);
    expect(e.kind).toBe('rejected');
    expect(e.details).toMatchObject({ status: 422, code: 40010001, duplicateClientOrderId: true });
    expect(e.message).toContain('req-1');
  });

  it('422 40010001 with another message is a plain rejection (Alpaca reuses the code for validation)', () => {
    const e = classifyAlpacaError(apiError(422, 40010001, 'qty must be > 0'));
    expect(e.kind).toBe('rejected');
    expect(e.details.duplicateClientOrderId).toBeUndefined();
  });

  it.each([
    [400, 'rejected'],
    [403, 'rejected'],
    [409, 'rejected'],
    [422, 'rejected'],
    [401, 'auth'],
    [404, 'not_found'],
    [408, 'unknown_outcome'],
    [500, 'unknown_outcome'],
    [502, 'unknown_outcome'],
    [503, 'unknown_outcome'],
    [504, 'unknown_outcome'],
  ])('HTTP %i → %s', (status, kind) => {
    expect(classifyAlpacaError(apiError(status, 1)).kind).toBe(kind);
  });

  it('403 insufficient buying power → rejected with the code', () => {
    const e = classifyAlpacaError(apiError(403, 40310000, 'insufficient buying power'));
    expect(e).toMatchObject({ kind: 'rejected', details: { status: 403, code: 40310000 } });
  });

  it('429 → retryable with the SDK retryAfterMs, or a default when the broker gave none', () => {
    expect(classifyAlpacaError(apiError(429, undefined, 'slow down', 2000)).details.retryAfterMs).toBe(2000);
    const e = classifyAlpacaError(apiError(429));
    expect(e.kind).toBe('retryable');
    expect(e.details.retryAfterMs).toBe(DEFAULT_RETRY_AFTER_MS);
  });

  it('422 on cancel says the order is not cancelable', () => {
    const e = classifyAlpacaError(apiError(422, 42210000, 'order is not cancelable'), 'cancelOrder');
    expect(e.kind).toBe('rejected');
    expect(e.message).toMatch(/not cancelable/);
  });

  it('FetchError (timeout, abort, network) → unknown_outcome', () => {
    const timeout = new errors.FetchError(new DOMException('late', 'TimeoutError'), 'The request was aborted');
    const abort = new errors.FetchError(new DOMException('stop', 'AbortError'), 'The request was aborted');
    const network = new errors.FetchError(new TypeError('fetch failed'), 'The request failed');
    expect(classifyAlpacaError(timeout, 'submitOrder')).toMatchObject({ kind: 'unknown_outcome' });
    expect(classifyAlpacaError(timeout).message).toMatch(/deadline exceeded/);
    expect(classifyAlpacaError(abort).message).toMatch(/aborted/);
    expect(classifyAlpacaError(network)).toMatchObject({ kind: 'unknown_outcome' });
    expect(classifyAlpacaError(network).message).toMatch(/network failure/);
  });

  it('reads raw transport errors (the SDK cannot wrap them inside a VM realm) and the caller deadline', () => {
    const raw = Object.assign(new TypeError('fetch failed'), { cause: { message: 'other side closed' } });
    expect(classifyAlpacaError(raw)).toMatchObject({ kind: 'unknown_outcome' });
    expect(classifyAlpacaError(raw).message).toMatch(/network failure \(other side closed\)/);
    expect(classifyAlpacaError(new DOMException('late', 'TimeoutError')).message).toMatch(/deadline exceeded/);
    const aborted = new errors.FetchError(new DOMException('stop', 'AbortError'), 'The request was aborted');
    const e = classifyAlpacaError(aborted, 'submitOrder', { deadlineExceededMs: 150 });
    expect(e).toMatchObject({ kind: 'unknown_outcome' });
    expect(e.message).toMatch(/deadline of 150 ms exceeded/);
  });

  it('matches by name and status, not class identity (the SDK testing entry has its own classes)', () => {
    const lookalike = Object.assign(new Error('client_order_id must be unique'), {
      name: 'ValidationError',
      status: 422,
      code: 40010001,
    });
    expect(classifyAlpacaError(lookalike).details.duplicateClientOrderId).toBe(true);
    const fetchLike = Object.assign(new Error('aborted'), { name: 'FetchError', cause: { name: 'TimeoutError' } });
    expect(classifyAlpacaError(fetchLike).kind).toBe('unknown_outcome');
  });

  it('a request the adapter refused to send is rejected; an unreadable answer is unknown; anything else unknown', () => {
    expect(classifyAlpacaError(new AlpacaRequestError('qty must be a decimal')).kind).toBe('rejected');
    expect(classifyAlpacaError(new AlpacaParseError('order.id is missing')).kind).toBe('unknown_outcome');
    expect(classifyAlpacaError(new Error('???')).kind).toBe('unknown_outcome');
    expect(classifyAlpacaError('string thrown').kind).toBe('unknown_outcome');
  });

  it('returns a BrokerError unchanged', () => {
    const original = new BrokerError('auth', 'x');
    expect(classifyAlpacaError(original)).toBe(original);
  });
});

describe('isDuplicateClientOrderId', () => {
  it('needs status 422, code 40010001 and a message about client_order_id uniqueness', () => {
    expect(isDuplicateClientOrderId(422, 40010001, 'client_order_id must be unique')).toBe(true);
    expect(isDuplicateClientOrderId(422, '40010001', 'Client_Order_ID must be unique')).toBe(true);
    expect(isDuplicateClientOrderId(400, 40010001, 'client_order_id must be unique')).toBe(false);
    expect(isDuplicateClientOrderId(422, 40010000, 'client_order_id must be unique')).toBe(false);
    expect(isDuplicateClientOrderId(422, 40010001, 'invalid qty')).toBe(false);
  });
});
