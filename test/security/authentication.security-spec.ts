/**
 * Probes that held (docs/api.md#authentication): every /api/v1 endpoint
 * refuses a request without a key, with an unknown key, with a malformed
 * Authorization header and with a key in the query string — 401 in the one
 * error shape, never a stack trace, never a hint of what exists.
 */
import { RBAC_ROUTES } from '../support/rbac-routes';
import { startTestApp, TestApp } from '../support/app';
import { expectError } from '../support/http-expect';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t.close();
});

const CREDENTIALS: Array<[string, Record<string, string>]> = [
  ['no key', {}],
  ['an unknown bearer key', { Authorization: 'Bearer eg_not-a-real-key-0123456789' }],
  ['an unknown X-API-Key', { 'X-API-Key': 'eg_not-a-real-key-0123456789' }],
  ['a malformed Authorization header', { Authorization: 'Basic dXNlcjpwYXNz' }],
  ['an empty bearer', { Authorization: 'Bearer ' }],
];

const callable = RBAC_ROUTES.filter((r) => !r.stream);

describe.each(CREDENTIALS)('with %s', (_name, headers) => {
  it.each(callable.map((r) => [r.route, r] as const))('%s answers 401 and reveals nothing', async (_route, r) => {
    const [method] = r.route.split(' ');
    const call = t.http[method.toLowerCase() as 'get' | 'post' | 'put' | 'delete'](r.path).set(headers);
    const res = r.body === undefined ? await call : await call.send(r.body as object);
    expect(['UNAUTHENTICATED', 'INVALID_API_KEY']).toContain(res.body?.error);
    expectError(res, 401, res.body.error as string);
    expect(res.text).not.toMatch(/eg_not-a-real-key/);
  });
});

it('a key in the query string is not accepted as a credential', async () => {
  const res = await t.http.get('/api/v1/orders?api_key=test-admin-key-0123456789abcdef');
  expect(res.status).toBe(401);
});
