/**
 * Malformed input (docs/api.md#errors, docs/api.md#numbers-and-decimals): every
 * bad request gets the one error shape with a stable code, every bad field is
 * named, no stack trace leaks, and nothing is written.
 */
import type { Response } from 'supertest';
import { auth, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/app';
import { countRows, expectError, expectInvalidFields } from '../support/http-expect';

const ORDERS = '/api/v1/orders';
const VALID = { symbol: 'AAPL', side: 'buy', qty: 10 };

interface Case {
  name: string;
  method?: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path?: string;
  /** A JSON value sent as the body. */
  body?: unknown;
  /** Raw bytes sent as the body (with `contentType`, default application/json). */
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** For 422 VALIDATION_FAILED: exactly the fields that must be named. */
  fields?: string[];
}

const order = (over: Record<string, unknown>): Record<string, unknown> => ({ ...VALID, ...over });
const without = (key: string): Record<string, unknown> => {
  const copy: Record<string, unknown> = { ...VALID };
  delete copy[key];
  return copy;
};
const invalid = (name: string, body: unknown, fields: string[]): Case => ({
  name,
  body,
  status: 422,
  code: 'VALIDATION_FAILED',
  fields,
});

const ORDER_CASES: Case[] = [
  // --- not JSON at all / too large ----------------------------------------
  { name: 'truncated JSON', raw: '{"symbol": "AAPL",', status: 400, code: 'MALFORMED_JSON' },
  { name: 'single-quoted JSON', raw: "{'symbol': 'AAPL'}", status: 400, code: 'MALFORMED_JSON' },
  { name: 'trailing garbage after JSON', raw: '{"symbol":"AAPL"} x', status: 400, code: 'MALFORMED_JSON' },
  {
    name: 'body larger than 1 MiB',
    raw: JSON.stringify({ ...VALID, pad: 'x'.repeat(1024 * 1024 + 16) }),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
  },
  // --- JSON, but not an object ----------------------------------------------
  { name: 'JSON array body', raw: '[{"symbol":"AAPL","side":"buy","qty":10}]', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'JSON string body', raw: '"AAPL"', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'JSON null body', raw: 'null', status: 422, code: 'VALIDATION_FAILED' },
  { name: 'JSON number body', raw: '42', status: 422, code: 'VALIDATION_FAILED' },
  // --- required fields ------------------------------------------------------
  invalid('missing symbol', without('symbol'), ['symbol']),
  invalid('missing side', without('side'), ['side']),
  invalid('missing qty', without('qty'), ['qty']),
  invalid('empty object', {}, ['symbol', 'side', 'qty']),
  // --- qty ------------------------------------------------------------------
  invalid('qty 0', order({ qty: 0 }), ['qty']),
  invalid('qty -1', order({ qty: -1 }), ['qty']),
  invalid('qty 1.5', order({ qty: 1.5 }), ['qty']),
  invalid('qty "1.5"', order({ qty: '1.5' }), ['qty']),
  invalid('qty "abc"', order({ qty: 'abc' }), ['qty']),
  invalid('qty true', order({ qty: true }), ['qty']),
  invalid('qty null', order({ qty: null }), ['qty']),
  invalid('qty 1e12', order({ qty: 1e12 }), ['qty']),
  invalid('qty ""', order({ qty: '' }), ['qty']),
  invalid('qty "1e3" (exponent string)', order({ qty: '1e3' }), ['qty']),
  invalid('qty [10]', order({ qty: [10] }), ['qty']),
  // --- symbol ---------------------------------------------------------------
  invalid('symbol of 11 characters', order({ symbol: 'ABCDEFGHIJK' }), ['symbol']),
  invalid('symbol with "$"', order({ symbol: 'AA$L' }), ['symbol']),
  invalid('symbol with an inner space', order({ symbol: 'BR K' }), ['symbol']),
  invalid('symbol as a number', order({ symbol: 123 }), ['symbol']),
  invalid('symbol of blanks', order({ symbol: '   ' }), ['symbol']),
  // --- enums ----------------------------------------------------------------
  invalid('side "hold"', order({ side: 'hold' }), ['side']),
  invalid('order_type "trailing"', order({ order_type: 'trailing' }), ['order_type']),
  invalid('a trailing stop without a trail', order({ order_type: 'trailing_stop' }), ['trail_price', 'trail_percent']),
  invalid('extended_hours as a string', order({ extended_hours: 'true' }), ['extended_hours']),
  invalid('time_in_force "opg"', order({ time_in_force: 'opg' }), ['time_in_force']),
  // --- prices and order types -----------------------------------------------
  invalid('limit order without limit_price', order({ order_type: 'limit' }), ['limit_price']),
  invalid('limit order with limit_price null', order({ order_type: 'limit', limit_price: null }), ['limit_price']),
  invalid('market order with limit_price', order({ limit_price: '150' }), ['limit_price']),
  invalid('market order with stop_price', order({ stop_price: '150' }), ['stop_price']),
  invalid('stop order without stop_price', order({ order_type: 'stop' }), ['stop_price']),
  invalid('stop_limit order without prices', order({ order_type: 'stop_limit' }), ['limit_price', 'stop_price']),
  invalid('negative limit_price', order({ order_type: 'limit', limit_price: -1 }), ['limit_price']),
  invalid('zero limit_price', order({ order_type: 'limit', limit_price: 0 }), ['limit_price']),
  invalid('"0.000" limit_price', order({ order_type: 'limit', limit_price: '0.000' }), ['limit_price']),
  invalid('exponent-string limit_price', order({ order_type: 'limit', limit_price: '1.5e2' }), ['limit_price']),
  invalid('limit_price with 9 decimals', order({ order_type: 'limit', limit_price: '150.123456789' }), ['limit_price']),
  invalid('non-numeric limit_price', order({ order_type: 'limit', limit_price: 'abc' }), ['limit_price']),
  invalid('negative stop_price string', order({ order_type: 'stop', stop_price: '-5' }), ['stop_price']),
  // --- unknown fields -------------------------------------------------------
  invalid('unknown fields', order({ foo: 1, account: 'x' }), ['foo', 'account']),
  // --- identifiers ----------------------------------------------------------
  invalid('client_order_id of 49 characters', order({ client_order_id: 'a'.repeat(49) }), ['client_order_id']),
  invalid('client_order_id with bad characters', order({ client_order_id: 'my order/1' }), ['client_order_id']),
  invalid('empty client_order_id', order({ client_order_id: '' }), ['client_order_id']),
  invalid('idempotency_key of 65 characters', order({ idempotency_key: 'k'.repeat(65) }), ['idempotency_key']),
  invalid('idempotency_key with a space', order({ idempotency_key: 'run 1' }), ['idempotency_key']),
  invalid('strategy_id with a space', order({ strategy_id: 'alpha beta' }), ['strategy_id']),
  invalid('strategy_id as a number', order({ strategy_id: 7 }), ['strategy_id']),
  // --- everything wrong at once ---------------------------------------------
  invalid(
    'many bad fields at once',
    {
      symbol: 'WAY_TOO_LONG_SYMBOL',
      side: 'hold',
      qty: 0,
      order_type: 'trailing',
      time_in_force: 'opg',
      limit_price: -1,
      client_order_id: 'x'.repeat(49),
      strategy_id: 'bad strategy',
      extra: true,
    },
    ['symbol', 'side', 'qty', 'order_type', 'time_in_force', 'limit_price', 'client_order_id', 'strategy_id', 'extra'],
  ),
  // --- wrong content type: the body is not read as JSON, so the order has no fields
  {
    name: 'text/plain body',
    raw: JSON.stringify(VALID),
    contentType: 'text/plain',
    status: 422,
    code: 'VALIDATION_FAILED',
    fields: ['symbol', 'side', 'qty'],
  },
];

const CID_49 = 'c'.repeat(49);

const OTHER_CASES: Case[] = [
  // --- list query -----------------------------------------------------------
  ...(
    [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['status=bogus', 'status'],
      ['status=dry_run,bogus', 'status'],
      ['created_after=notadate', 'created_after'],
      ['created_before=2026-13-45T00:00:00Z', 'created_before'],
      ['cursor=garbage', 'cursor'],
      ['cursor=%21%21%21', 'cursor'],
      ['symbol=AA%24L', 'symbol'],
      ['sort=asc', 'sort'],
    ] as const
  ).map(([query, field]): Case => ({
    name: `GET list ?${query}`,
    method: 'get',
    path: `${ORDERS}?${query}`,
    status: 422,
    code: 'VALIDATION_FAILED',
    fields: [field],
  })),
  {
    name: 'GET list with two bad params',
    method: 'get',
    path: `${ORDERS}?limit=0&bogus=1`,
    status: 422,
    code: 'VALIDATION_FAILED',
    fields: ['limit', 'bogus'],
  },
  // --- one order by a malformed id ------------------------------------------
  {
    name: 'GET one with a 49-character id',
    method: 'get',
    path: `${ORDERS}/${CID_49}`,
    status: 422,
    code: 'VALIDATION_FAILED',
    fields: ['client_order_id'],
  },
  {
    name: 'GET one with bad characters in the id',
    method: 'get',
    path: `${ORDERS}/abc%24def`,
    status: 422,
    code: 'VALIDATION_FAILED',
    fields: ['client_order_id'],
  },
  // --- routes and methods ---------------------------------------------------
  { name: 'unknown route outside the API', method: 'get', path: '/nope', status: 404, code: 'NOT_FOUND' },
  { name: 'unknown route inside the API', path: '/api/v1/orderz', body: VALID, status: 404, code: 'NOT_FOUND' },
  { name: 'wrong method PUT on orders', method: 'put', body: VALID, status: 404, code: 'NOT_FOUND' },
  { name: 'wrong method DELETE on orders', method: 'delete', status: 404, code: 'NOT_FOUND' },
  { name: 'wrong method PUT on one order', method: 'put', path: `${ORDERS}/abc`, status: 404, code: 'NOT_FOUND' },
  // --- authentication -------------------------------------------------------
  { name: 'no API key', body: VALID, headers: {}, status: 401, code: 'UNAUTHENTICATED' },
  {
    name: 'a Basic authorization header',
    body: VALID,
    headers: { Authorization: 'Basic dXNlcjpwYXNz' },
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'an unknown bearer key',
    body: VALID,
    headers: { Authorization: 'Bearer not-a-real-key-0123456789' },
    status: 401,
    code: 'INVALID_API_KEY',
  },
  {
    name: 'an unknown X-API-Key',
    body: VALID,
    headers: { 'X-API-Key': 'not-a-real-key-0123456789' },
    status: 401,
    code: 'INVALID_API_KEY',
  },
  {
    name: 'no API key on the list',
    method: 'get',
    path: ORDERS,
    headers: {},
    status: 401,
    code: 'UNAUTHENTICATED',
  },
];

describe('malformed requests (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  async function send(c: Case): Promise<Response> {
    const method = c.method ?? 'post';
    let req = t.http[method](c.path ?? ORDERS).set(c.headers ?? auth);
    if (c.raw !== undefined) {
      req = req.set('Content-Type', c.contentType ?? 'application/json').send(c.raw);
    } else if (c.body !== undefined) {
      req = req.send(c.body as object);
    }
    return req;
  }

  it('starts from empty tables', async () => {
    expect(await countRows(t.db, 'orders')).toBe(0);
    expect(await countRows(t.db, 'audit_log')).toBe(0);
  });

  it('has at least 35 malformed order bodies', () => {
    expect(ORDER_CASES.length).toBeGreaterThanOrEqual(35);
  });

  it.each(ORDER_CASES.map((c) => [c.name, c] as const))('POST /orders: %s', async (_name, c) => {
    const res = await send(c);
    const body = c.fields ? expectInvalidFields(res, c.fields) : expectError(res, c.status, c.code);
    if (c.status === 422 && !c.fields) {
      // A body that is not an object is named as such.
      expect(body.details?.fields?.map((f) => f.field)).toEqual(['body']);
    }
  });

  it.each(OTHER_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await send(c);
    if (c.fields) expectInvalidFields(res, c.fields);
    else expectError(res, c.status, c.code);
  });

  it('names the unknown field in the message too', async () => {
    const res = await t.http
      .post(ORDERS)
      .set(auth)
      .send(order({ quantity: 10 }));
    const body = expectInvalidFields(res, ['quantity']);
    expect(body.message).toContain('quantity');
  });

  it('refuses objects and arrays where scalars belong', async () => {
    const res = await t.http
      .post(ORDERS)
      .set(auth)
      .send({ symbol: { $gt: '' }, side: ['buy'], qty: { toString: 'x' } });
    expectInvalidFields(res, ['symbol', 'side', 'qty']);
  });

  it('accepts the admin key in X-API-Key', async () => {
    const res = await t.http.get(ORDERS).set('X-API-Key', TEST_ADMIN_KEY);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ orders: [], next_cursor: null });
  });

  it('wrote nothing for any malformed request', async () => {
    expect(await countRows(t.db, 'orders')).toBe(0);
    expect(await countRows(t.db, 'audit_log')).toBe(0);
  });

  it('normalises a lower-case symbol with surrounding blanks (and that does write)', async () => {
    const res = await t.http
      .post(ORDERS)
      .set('X-API-Key', TEST_ADMIN_KEY)
      .send({ symbol: '  brk.b ', side: 'buy', qty: '5' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ symbol: 'BRK.B', qty: 5, status: 'dry_run' });
    const rows = await t.db.query('SELECT symbol, qty::text AS qty FROM orders');
    expect(rows).toEqual([{ symbol: 'BRK.B', qty: '5' }]);
    expect(await countRows(t.db, 'audit_log')).toBe(1);
  });
});

/**
 * Inputs that get past the first layer of checks: prototype keys, pathological
 * nesting, ISO 8601 forms a Date cannot hold. Still a named 422, never a 500,
 * never an order.
 */
describe('hostile but well-formed requests (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const rawPost = (raw: string): Promise<Response> =>
    t.http.post(ORDERS).set(auth).set('Content-Type', 'application/json').send(raw);
  const validWith = (extra: string): string => `${JSON.stringify(VALID).slice(0, -1)},${extra}}`;
  const nestedObject = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  const nestedArray = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

  /** 422 VALIDATION_FAILED and `field` among the named fields. */
  function expectNamed(res: Response, field: string): void {
    const body = expectError(res, 422, 'VALIDATION_FAILED');
    expect(body.details?.fields?.map((f) => f.field)).toContain(field);
  }

  it.each([
    ['__proto__', '"__proto__":{"admin":true}'],
    ['constructor', '"constructor":{"prototype":{"admin":true}}'],
  ])('names an unknown "%s" key instead of ignoring it', async (field, extra) => {
    expectNamed(await rawPost(validWith(extra)), field);
  });

  it.each([
    ['an unknown field nested 5,000 objects deep', 'deep', `"deep":${nestedObject(5000)}`],
    ['an unknown field nested 3,000 arrays deep', 'deep', `"deep":${nestedArray(3000)}`],
    ['qty nested 20,000 objects deep', 'qty', null],
  ])('answers %s with a named 422', async (_name, field, extra) => {
    const raw =
      extra === null
        ? JSON.stringify({ symbol: 'AAPL', side: 'buy' }).slice(0, -1) + `,"qty":${nestedObject(20000)}}`
        : validWith(extra);
    expectNamed(await rawPost(raw), field);
  });

  it.each([
    ['created_after', '2026-W01'],
    ['created_after', '2026-W01-1'],
    ['created_after', '2026-032'],
    ['created_before', '20260101T100000Z'],
  ])('answers %s=%s (ISO 8601 that is not an instant) with a named 422', async (param, value) => {
    expectNamed(await t.http.get(`${ORDERS}?${param}=${value}`).set(auth), param);
  });

  it('wrote nothing', async () => {
    expect(await countRows(t.db, 'orders')).toBe(0);
    expect(await countRows(t.db, 'audit_log')).toBe(0);
  });
});
