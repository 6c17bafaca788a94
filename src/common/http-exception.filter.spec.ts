import { ArgumentsHost, BadRequestException, HttpException, Logger, NotFoundException } from '@nestjs/common';
import {
  ConflictError,
  DomainError,
  ErrorKind,
  ForbiddenError,
  InputValidationError,
  NotFoundError,
  UnauthenticatedError,
} from './domain-error';
import { ErrorBody, HttpExceptionFilter, isDatabaseUnreachable, notFoundResponder } from './http-exception.filter';

interface FakeResponse {
  statusCode?: number;
  body?: ErrorBody;
  headers: Record<string, string>;
  headersSent: boolean;
  status(code: number): FakeResponse;
  json(body: ErrorBody): FakeResponse;
  setHeader(name: string, value: string): void;
}

function fakeResponse(headersSent = false): FakeResponse {
  return {
    headers: {},
    headersSent,
    status(code) {
      this.statusCode = code;
      return this;
    },
    json(body) {
      this.body = body;
      return this;
    },
    setHeader(name, value) {
      this.headers[name] = value;
    },
  };
}

function run(exception: unknown, req: Record<string, unknown> = { id: 'req-123' }, headersSent = false) {
  const res = fakeResponse(headersSent);
  const host = {
    switchToHttp: () => ({ getResponse: () => res, getRequest: () => req, getNext: () => undefined }),
  } as unknown as ArgumentsHost;
  new HttpExceptionFilter().catch(exception, host);
  return res;
}

describe('HttpExceptionFilter (docs/api.md#errors)', () => {
  let logError: jest.SpyInstance;
  beforeEach(() => {
    logError = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    logError.mockRestore();
  });

  describe('DomainError kinds → statuses', () => {
    it.each<[ErrorKind, number]>([
      ['invalid', 422],
      ['malformed', 400],
      ['unauthenticated', 401],
      ['forbidden', 403],
      ['not_found', 404],
      ['conflict', 409],
      ['rejected', 422],
      ['rate_limited', 429],
      ['unavailable', 503],
    ])('%s → %p with the stable code as error', (kind, status) => {
      const res = run(new DomainError(kind, 'SOME_CODE', 'Something happened'));
      expect(res.statusCode).toBe(status);
      expect(res.body).toEqual({ error: 'SOME_CODE', message: 'Something happened', request_id: 'req-123' });
      expect(res.headers['Retry-After']).toBeUndefined();
    });

    it('rate_limited sets Retry-After from retryAfterSeconds', () => {
      const res = run(new DomainError('rate_limited', 'RATE_LIMITED', 'Too many orders', undefined, 17));
      expect(res.statusCode).toBe(429);
      expect(res.headers['Retry-After']).toBe('17');
      expect(res.body).toEqual({ error: 'RATE_LIMITED', message: 'Too many orders', request_id: 'req-123' });
    });

    it('unavailable with retryAfterSeconds sets Retry-After too', () => {
      const res = run(
        new DomainError('unavailable', 'KILL_SWITCH_ENGAGED', 'Kill switch engaged', { reason: 'drill' }, 5),
      );
      expect(res.statusCode).toBe(503);
      expect(res.headers['Retry-After']).toBe('5');
      expect(res.body).toEqual({
        error: 'KILL_SWITCH_ENGAGED',
        message: 'Kill switch engaged',
        details: { reason: 'drill' },
        request_id: 'req-123',
      });
    });

    it('the subclasses map to their statuses', () => {
      expect(run(new NotFoundError('ORDER_NOT_FOUND', 'No order')).statusCode).toBe(404);
      expect(run(new ConflictError('ORDER_CONFLICT', 'Different terms')).statusCode).toBe(409);
      expect(run(new UnauthenticatedError('UNAUTHENTICATED', 'No key')).statusCode).toBe(401);
      expect(run(new ForbiddenError('FORBIDDEN', 'Out of scope')).statusCode).toBe(403);
    });

    it('an InputValidationError is a 422 VALIDATION_FAILED with every field in details', () => {
      const fields = [
        { field: 'qty', problems: ['must be a whole number'] },
        { field: 'symbol', problems: ['must be a string'] },
      ];
      const res = run(new InputValidationError(fields));
      expect(res.statusCode).toBe(422);
      expect(res.body!.error).toBe('VALIDATION_FAILED');
      expect(res.body!.details).toEqual({ fields });
      expect(res.body!.message).toContain('qty');
      expect(res.body!.message).toContain('symbol');
    });

    it('domain errors are not logged as unhandled', () => {
      run(new DomainError('unavailable', 'SAFETY_STATE_UNAVAILABLE', 'Store down'));
      expect(logError).not.toHaveBeenCalled();
    });
  });

  describe('HttpException', () => {
    it('404 → NOT_FOUND', () => {
      const res = run(new NotFoundException('Cannot GET /nowhere'));
      expect(res.statusCode).toBe(404);
      expect(res.body).toEqual({ error: 'NOT_FOUND', message: 'Cannot GET /nowhere', request_id: 'req-123' });
    });

    it.each<[number, string]>([
      [400, 'BAD_REQUEST'],
      [401, 'UNAUTHENTICATED'],
      [403, 'FORBIDDEN'],
      [405, 'METHOD_NOT_ALLOWED'],
      [409, 'CONFLICT'],
      [413, 'PAYLOAD_TOO_LARGE'],
      [415, 'UNSUPPORTED_MEDIA_TYPE'],
      [422, 'VALIDATION_FAILED'],
      [429, 'RATE_LIMITED'],
      [503, 'SERVICE_UNAVAILABLE'],
      [418, 'HTTP_ERROR'],
      [502, 'INTERNAL_ERROR'],
    ])('%p → %s', (status, code) => {
      const res = run(new HttpException('Some message', status));
      expect(res.statusCode).toBe(status);
      expect(res.body!.error).toBe(code);
      expect(res.body!.message).toBe('Some message');
    });

    it('takes a string message from an object response', () => {
      const res = run(new BadRequestException({ message: 'Bad thing', statusCode: 400 }));
      expect(res.statusCode).toBe(400);
      expect(res.body).toEqual({ error: 'BAD_REQUEST', message: 'Bad thing', request_id: 'req-123' });
    });

    it('keeps a health-check result as details', () => {
      const result = { status: 'error', info: {}, error: { database: { status: 'down' } }, details: {} };
      const res = run(new HttpException(result, 503));
      expect(res.statusCode).toBe(503);
      expect(res.body!.error).toBe('SERVICE_UNAVAILABLE');
      expect(res.body!.details).toEqual(result);
    });
  });

  describe('body parser errors', () => {
    it('a wrapped entity.too.large → 413 PAYLOAD_TOO_LARGE', () => {
      const res = run(new HttpException('request entity too large', 413, { cause: { type: 'entity.too.large' } }));
      expect(res.statusCode).toBe(413);
      expect(res.body).toEqual({
        error: 'PAYLOAD_TOO_LARGE',
        message: 'Request body is too large',
        request_id: 'req-123',
      });
    });

    it('an entity.too.large wrapped as a 500 is still a 413', () => {
      const res = run(new HttpException('Internal server error', 500, { cause: { type: 'entity.too.large' } }));
      expect(res.statusCode).toBe(413);
      expect(res.body!.error).toBe('PAYLOAD_TOO_LARGE');
    });

    it.each<[string, number, string]>([
      ['entity.too.large', 413, 'PAYLOAD_TOO_LARGE'],
      ['entity.parse.failed', 400, 'MALFORMED_JSON'],
      ['encoding.unsupported', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['charset.unsupported', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['request.aborted', 400, 'BAD_REQUEST'],
      ['request.size.invalid', 400, 'BAD_REQUEST'],
    ])('a raw parser error of type %s → %p %s', (type, status, code) => {
      const err = Object.assign(new Error('raw parser message with body bytes {"a":'), { type, status });
      const res = run(err);
      expect(res.statusCode).toBe(status);
      expect(res.body!.error).toBe(code);
      expect(res.body!.message).not.toContain('body bytes');
    });
  });

  describe('the database unreachable under a request', () => {
    const cases: Array<[string, unknown]> = [
      ['a reset socket', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
      [
        'a refused connection',
        Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }),
      ],
      ['pg: connection lost mid-query', new Error('Connection terminated unexpectedly')],
      ['pg: the pool could not connect in time', new Error('timeout exceeded when trying to connect')],
      ['PostgreSQL class 08', Object.assign(new Error('connection failure'), { code: '08006' })],
      ['PostgreSQL shutting down (57P01)', Object.assign(new Error('terminating connection'), { code: '57P01' })],
      [
        'TypeORM wrapping the driver error',
        Object.assign(new Error('Query failed'), { driverError: { code: 'ECONNRESET' } }),
      ],
    ];
    it.each(cases)('%s → 503 DATABASE_UNAVAILABLE with Retry-After, nothing of the cause', (_name, err) => {
      const res = run(err);
      expect(res.statusCode).toBe(503);
      expect(res.headers['Retry-After']).toBe('1');
      expect(res.body).toMatchObject({ error: 'DATABASE_UNAVAILABLE', request_id: 'req-123' });
      expect(JSON.stringify(res.body)).not.toMatch(/10\.0\.0\.5|ECONN|08006/);
    });

    it('a query error of another class (a constraint, a syntax error) stays a 500', () => {
      expect(isDatabaseUnreachable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
      expect(run(Object.assign(new Error('syntax'), { code: '42601' })).statusCode).toBe(500);
    });
  });

  describe('anything else', () => {
    it('an arbitrary Error → 500 INTERNAL_ERROR with a generic message and no stack', () => {
      const err = new Error('connection to db-primary:5432 refused; password=hunter2');
      const res = run(err);
      expect(res.statusCode).toBe(500);
      expect(res.body).toEqual({ error: 'INTERNAL_ERROR', message: 'Internal error', request_id: 'req-123' });
      const text = JSON.stringify(res.body);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('db-primary');
      expect(text).not.toContain(err.stack!.split('\n')[1].trim());
      expect(text).not.toMatch(/\bat .*\.ts:\d+/);
    });

    it('logs the unexpected error with the request id', () => {
      const err = new TypeError('undefined is not a function');
      run(err);
      expect(logError).toHaveBeenCalledTimes(1);
      expect(logError.mock.calls[0][0]).toMatchObject({ err, request_id: 'req-123' });
    });

    it.each<[string, unknown]>([
      ['a string', 'boom'],
      ['null', null],
      ['undefined', undefined],
      ['a number', 42],
      ['a plain object', { message: 'secret detail' }],
    ])('a thrown %s → 500 INTERNAL_ERROR', (_name, thrown) => {
      const res = run(thrown);
      expect(res.statusCode).toBe(500);
      expect(res.body).toEqual({ error: 'INTERNAL_ERROR', message: 'Internal error', request_id: 'req-123' });
    });
  });

  describe('request_id', () => {
    it('is taken from req.id', () => {
      expect(run(new NotFoundError('X', 'x'), { id: 'abc-789' }).body!.request_id).toBe('abc-789');
    });

    it('is stringified when not a string', () => {
      expect(run(new NotFoundError('X', 'x'), { id: 42 }).body!.request_id).toBe('42');
    });

    it('is null when the request has no id', () => {
      expect(run(new NotFoundError('X', 'x'), {}).body!.request_id).toBeNull();
    });
  });

  it('writes nothing when headers were already sent', () => {
    const res = run(new NotFoundError('X', 'x'), { id: 'r' }, true);
    expect(res.statusCode).toBeUndefined();
    expect(res.body).toBeUndefined();
  });
});

describe('notFoundResponder', () => {
  it('answers an unknown route in the API error shape', () => {
    const res = fakeResponse();
    notFoundResponder(
      { method: 'GET', path: '/api/v1/nowhere', id: 'req-9' } as never,
      res as unknown as Parameters<typeof notFoundResponder>[1],
    );
    expect(res.statusCode).toBe(404);
    expect(res.body).toEqual({ error: 'NOT_FOUND', message: 'Cannot GET /api/v1/nowhere', request_id: 'req-9' });
  });
});
