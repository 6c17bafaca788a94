/**
 * The API description's error responses (docs/api.md#errors): one error body
 * schema, named examples by reason code, a decorator that declares a status
 * with its examples, and the pass that gives every /api/v1 operation the
 * responses any such route can answer (authentication, the failed-auth
 * throttle, malformed or oversized bodies, invalid input).
 */
import { ApiResponse } from '@nestjs/swagger';
import type { OpenAPIObject } from '@nestjs/swagger';
import { decoratorStack } from './decorator-stack';
import { ErrorResponseDto } from './error-response.dto';

interface ErrorExample {
  status: number;
  summary: string;
  message: string;
  details?: Record<string, unknown>;
}

const REQUEST_ID = '5b1d4b4e-3a5f-4f7c-9a53-2f0d0f4f7a10';

/** One example body per reason code, as the gateway answers it. */
export const ERROR_EXAMPLES = {
  UNAUTHENTICATED: {
    status: 401,
    summary: 'No key',
    message: 'An API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
  },
  INVALID_API_KEY: { status: 401, summary: 'Unknown or revoked key', message: 'The API key is not valid' },
  PERMISSION_DENIED: {
    status: 403,
    summary: 'A permission is missing',
    message: 'This API key lacks the permission(s): SUBMIT_ORDER',
    details: { missing_permissions: ['SUBMIT_ORDER'] },
  },
  STRATEGY_FORBIDDEN: {
    status: 403,
    summary: "Outside the key's strategies",
    message: 'This API key may not submit orders for strategy "mean_rev"',
  },
  MALFORMED_JSON: { status: 400, summary: 'Not JSON', message: 'Request body is not valid JSON' },
  PAYLOAD_TOO_LARGE: { status: 413, summary: 'Body too large', message: 'Request body is too large' },
  VALIDATION_FAILED: {
    status: 422,
    summary: 'Invalid fields, each named',
    message: 'Invalid request: side must be one of: buy, sell',
    details: { fields: [{ field: 'side', problems: ['must be one of: buy, sell'] }] },
  },
  FAT_FINGER_MAX_QTY: {
    status: 422,
    summary: 'Fat-finger check',
    message: 'qty 20000 exceeds the maximum of 10000 for AAPL',
    details: { limit: '10000', value: '20000' },
  },
  MAX_POSITION_SIZE: {
    status: 422,
    summary: 'Risk limit',
    message: 'AAPL position would reach 1200 shares with this order and the open buy orders; the limit is 1000',
    details: { limit: '1000', projected_position: '1200', position: '1000', open_same_side: '0' },
  },
  CLIENT_ORDER_ID_CONFLICT: {
    status: 409,
    summary: 'Same id, other terms',
    message:
      'client_order_id my-order-001 already names an order with different qty; send an idempotency_key or your own client_order_id to place a second order',
    details: { client_order_id: 'my-order-001', differing_fields: ['qty'] },
  },
  RATE_LIMITED: {
    status: 429,
    summary: "The key's budget is spent (Retry-After)",
    message: 'Rate limit exceeded: at most 40 submit requests per 60 s for this API key',
    details: { limit: 40, window_seconds: 60, class: 'submit' },
  },
  AUTH_THROTTLED: {
    status: 429,
    summary: 'Too many failed authentications from this address (Retry-After)',
    message: 'Too many failed authentications from this address: at most 20 per 60 s',
    details: { limit: 20, window_seconds: 60, class: 'authentication' },
  },
  KILL_SWITCH_ENGAGED: {
    status: 503,
    summary: 'Kill switch engaged',
    message: 'Kill switch engaged: runaway strategy',
    details: { engaged_at: '2026-01-02T14:30:00.000Z', engaged_by: 'jane.doe' },
  },
  CIRCUIT_BREAKER_TRIPPED: {
    status: 503,
    summary: 'Circuit breaker tripped',
    message:
      'Circuit breaker tripped (DAILY_LOSS): daily loss limit reached; only orders that reduce a position pass until an operator resets it',
    details: { reason_code: 'DAILY_LOSS', tripped_at: '2026-01-02T14:30:00.000Z', tripped_by: 'system' },
  },
  RECONCILIATION_GATE_REDUCE_ONLY: {
    status: 503,
    summary: 'Startup reconciliation not complete',
    message:
      'Reconciliation with the broker has not completed since start: only orders that reduce a position pass (an operator may force-complete it)',
  },
  SYMBOL_QUARANTINED: {
    status: 503,
    summary: 'Symbol quarantined by reconciliation',
    message:
      'AAPL is quarantined by reconciliation: orphan order at the broker; only orders that reduce the position pass until an operator acknowledges it',
    details: { symbol: 'AAPL', cause: 'orphan' },
  },
  SAFETY_STATE_UNAVAILABLE: {
    status: 503,
    summary: 'A safety state cannot be read (fail closed)',
    message: 'Kill-switch state cannot be read: new orders are refused until it can (cancels still pass)',
    details: { state: 'kill_switch' },
  },
  DATABASE_UNAVAILABLE: {
    status: 503,
    summary: 'The database cannot be reached (Retry-After); retry with the same ids',
    message:
      'The database cannot be reached; the request may or may not have taken effect: retry it with the same client_order_id (a retry never creates a second order)',
  },
  INTERNAL_ERROR: {
    status: 500,
    summary: 'Unexpected (the detail is in the log only)',
    message: 'Internal error',
  },
  ORDER_NOT_FOUND: {
    status: 404,
    summary: "Unknown, or outside the key's strategies",
    message: 'No order with client_order_id 9467f0b30ecb46c52247b400',
  },
  ORDER_NOT_REPLACEABLE: {
    status: 409,
    summary: 'Not open at the broker, or already being replaced',
    message:
      'Order 9467f0b30ecb46c52247b400 cannot be replaced: its status is filled (only new, partially_filled and done_for_day orders at the broker can be replaced)',
    details: { client_order_id: '9467f0b30ecb46c52247b400', status: 'filled' },
  },
  CLIENT_ORDER_ID_UNAVAILABLE: {
    status: 409,
    summary: 'The client_order_id cannot be used by this key',
    message:
      'client_order_id my-order-001-v2 cannot be used by this API key; send another client_order_id, or none to have one derived',
    details: { client_order_id: 'my-order-001-v2' },
  },
  NO_CHANGE: {
    status: 422,
    summary: 'The replace changes nothing',
    message: 'The replace changes nothing: the order already has these terms (its open qty is 10)',
    details: {
      client_order_id: '9467f0b30ecb46c52247b400',
      fields: [{ field: 'body', problems: ['changes no term of the order'] }],
    },
  },
  REPLACE_REJECTED: {
    status: 422,
    summary: 'The broker refused the replace; the order is unchanged',
    message:
      'The broker refused the replace of 9467f0b30ecb46c52247b400 (insufficient buying power); the order is unchanged and the replacement 9467f0b30ecb46c52247b400-r1 is rejected',
    details: {
      client_order_id: '9467f0b30ecb46c52247b400',
      status: 'new',
      replacement: '9467f0b30ecb46c52247b400-r1',
      replacement_status: 'rejected',
    },
  },
  BROKER_UNAVAILABLE: {
    status: 503,
    summary: 'The broker cannot be reached',
    message: 'The broker account cannot be read right now',
  },
} satisfies Record<string, ErrorExample>;

export type ErrorCode = keyof typeof ERROR_EXAMPLES;

function exampleObject(code: ErrorCode) {
  const e: ErrorExample = ERROR_EXAMPLES[code];
  const error = code === 'AUTH_THROTTLED' ? 'RATE_LIMITED' : code;
  return {
    summary: e.summary,
    value: { error, message: e.message, ...(e.details ? { details: e.details } : {}), request_id: REQUEST_ID },
  };
}

function examplesOf(codes: ErrorCode[]) {
  return Object.fromEntries(codes.map((c) => [c, exampleObject(c)]));
}

/**
 * Declares the error responses of an operation (or of every operation of a
 * controller), grouped by status, each reason code a named example. Declared
 * again for the same status on the same target, Swagger merges the two
 * (descriptions joined, examples combined); a method's status replaces its class's.
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) byStatus.set(ERROR_EXAMPLES[c].status, [...(byStatus.get(ERROR_EXAMPLES[c].status) ?? []), c]);
  return decoratorStack(
    ...[...byStatus].map(([status, group]) =>
      ApiResponse({
        status,
        type: ErrorResponseDto,
        description: group.map((c) => (c === 'AUTH_THROTTLED' ? 'RATE_LIMITED' : c)).join(', '),
        examples: examplesOf(group),
      }),
    ),
  ) as MethodDecorator & ClassDecorator;
}

type Operation = NonNullable<OpenAPIObject['paths'][string]['get']>;
type Responses = Operation['responses'];

const ERROR_SCHEMA = { $ref: '#/components/schemas/ErrorResponseDto' };

type ErrorResponse = { description?: string; content?: Record<string, { schema?: unknown; examples?: object }> };

function addResponse(responses: Responses, codes: ErrorCode[]): void {
  const status = String(ERROR_EXAMPLES[codes[0]].status);
  const existing = responses[status] as ErrorResponse | undefined;
  const examples = existing?.content?.['application/json']?.examples ?? {};
  responses[status] = {
    description: existing?.description || codes.map((c) => (c === 'AUTH_THROTTLED' ? 'RATE_LIMITED' : c)).join(', '),
    content: { 'application/json': { schema: ERROR_SCHEMA, examples: { ...examplesOf(codes), ...examples } } },
  };
}

/** Errors are always JSON in the one error body, whatever the operation produces on success (e.g. an event stream). */
function errorsAsJson(responses: Responses): void {
  for (const [status, r] of Object.entries(responses)) {
    if (Number(status) < 400) continue;
    const response = r as ErrorResponse;
    const examples = Object.values(response.content ?? {}).find((m) => m.examples)?.examples;
    response.content = { 'application/json': { schema: ERROR_SCHEMA, ...(examples ? { examples } : {}) } };
  }
}

/**
 * Gives every /api/v1 operation the error responses any route there can
 * answer: 401 (no or bad key), 429 (the failed-authentication throttle), 500, and,
 * with a body, 400 (not JSON), 413 (too large) and 422 (invalid fields); with
 * path or query parameters, 422. Declared responses keep their text and gain
 * the examples. Every operation can answer 503 DATABASE_UNAVAILABLE; with
 * service signing on, also 503 SAFETY_STATE_UNAVAILABLE (the signature replay
 * cache unreachable).
 */
export function completeErrorResponses(document: OpenAPIObject, prefix: string, signing: boolean): void {
  for (const [path, item] of Object.entries(document.paths)) {
    if (!path.startsWith(`/${prefix}/`)) continue;
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const op = item[method];
      if (!op) continue;
      errorsAsJson(op.responses);
      addResponse(op.responses, ['UNAUTHENTICATED', 'INVALID_API_KEY']);
      addResponse(op.responses, ['AUTH_THROTTLED']);
      if (op.requestBody) {
        addResponse(op.responses, ['MALFORMED_JSON']);
        addResponse(op.responses, ['PAYLOAD_TOO_LARGE']);
      }
      if (op.requestBody || op.parameters?.some((p) => 'in' in p && (p.in === 'query' || p.in === 'path'))) {
        addResponse(op.responses, ['VALIDATION_FAILED']);
      }
      // Every route reads the database (the key lookup at least).
      addResponse(op.responses, ['DATABASE_UNAVAILABLE']);
      if (signing) addResponse(op.responses, ['SAFETY_STATE_UNAVAILABLE']);
      addResponse(op.responses, ['INTERNAL_ERROR']);
    }
  }
}
