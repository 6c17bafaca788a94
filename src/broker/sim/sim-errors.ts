/**
 * The sim's refusals, shaped like Alpaca's so the OMS meets the same
 * statuses and codes offline as it does against the real broker.
 */
import { BrokerError } from '../broker-client.port';

/** Alpaca's error codes (see reference/alpaca-trading-contract.md §8). */
export const SIM_ERROR_CODES = {
  /** 422: validation failures and a duplicate client_order_id. */
  invalid: 40010001,
  /** 403: buying power and other account-level refusals. */
  forbidden: 40310000,
  /** 404: unknown order or position. */
  notFound: 40410000,
  /** 422: the request is well formed but the order's state forbids it (not cancelable, not tradable). */
  unprocessable: 42210000,
  /** 429: too many requests (Alpaca's body: `{"code":42910000,"message":"rate limit exceeded"}`). */
  rateLimited: 42910000,
} as const;

export function invalidRequest(message: string): BrokerError {
  return new BrokerError('rejected', message, { status: 422, code: SIM_ERROR_CODES.invalid });
}

export function duplicateClientOrderId(clientOrderId: string): BrokerError {
  return new BrokerError('rejected', `client_order_id must be unique (${clientOrderId})`, {
    status: 422,
    code: SIM_ERROR_CODES.invalid,
    duplicateClientOrderId: true,
  });
}

export function forbidden(message: string): BrokerError {
  return new BrokerError('rejected', message, { status: 403, code: SIM_ERROR_CODES.forbidden });
}

export function unprocessable(message: string): BrokerError {
  return new BrokerError('rejected', message, { status: 422, code: SIM_ERROR_CODES.unprocessable });
}

export function notFound(message: string): BrokerError {
  return new BrokerError('not_found', message, { status: 404, code: SIM_ERROR_CODES.notFound });
}

/** A lost answer: the request may or may not have been acted on. */
export function lostResponse(message: string): BrokerError {
  return new BrokerError('unknown_outcome', message, { status: 504 });
}

export function rateLimited(message: string, retryAfterMs: number): BrokerError {
  return new BrokerError('retryable', message, { status: 429, code: SIM_ERROR_CODES.rateLimited, retryAfterMs });
}
