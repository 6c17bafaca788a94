/**
 * Finding: a key sent in the query string was refused (401) but written
 * verbatim into the access log's URL. Credential-named query parameters and
 * anything shaped like a gateway key are now redacted from every logged URL
 * (docs/security.md#secrets-in-logs). The log lines are read at the logger's
 * own output stream, after serialization, as an operator would read them.
 */
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { auth, startTestApp, TEST_ADMIN_KEY, TestApp } from '../support/app';
import { createKey } from '../support/api-keys';

let t: TestApp;
let lines: string[] = [];
let root: pino.Logger & Record<symbol, { write(s: string): boolean }>;

beforeAll(async () => {
  t = await startTestApp();
  root = PinoLogger.root as unknown as typeof root;
  root.level = 'info';
  const stream = root[pino.symbols.streamSym];
  jest.spyOn(stream, 'write').mockImplementation((s: string) => {
    lines.push(s);
    return true;
  });
});

afterAll(async () => {
  root.level = 'silent';
  await t.close();
  jest.restoreAllMocks();
});

beforeEach(() => {
  lines = [];
});

/** The access-log lines written so far (the line is written when the response closes). */
async function accessLog(): Promise<Array<{ url: string }>> {
  await new Promise((r) => setTimeout(r, 50));
  return lines.filter((l) => l.includes('request completed')).map((l) => JSON.parse(l) as { url: string });
}

it.each(['api_key', 'apikey', 'key', 'token', 'access_token', 'API_KEY', 'api%5Fkey'])(
  'a key in ?%s= is refused and not logged',
  async (param) => {
    const res = await t.http.get(`/api/v1/orders?limit=5&${param}=${TEST_ADMIN_KEY}`);
    expect(res.status).toBe(401);
    const log = await accessLog();
    expect(log).toHaveLength(1);
    expect(log[0].url).toBe(`/api/v1/orders?limit=5&${param}=[redacted]`);
    expect(lines.join('')).not.toContain(TEST_ADMIN_KEY);
  },
);

it('a value shaped like a gateway key is redacted whatever the parameter is called', async () => {
  const made = await createKey(t, ['VIEW_ORDERS']);
  lines = [];
  const res = await t.http.get(`/api/v1/orders?cursor=${made.key}`).set(auth);
  expect(res.status).not.toBe(500);
  const log = await accessLog();
  expect(log[0].url).toBe('/api/v1/orders?cursor=[redacted]');
  expect(lines.join('')).not.toContain(made.key);
});

it('ordinary query strings are logged as sent', async () => {
  await t.http.get('/api/v1/orders?limit=5&status=open').set(auth);
  const log = await accessLog();
  expect(log[0].url).toBe('/api/v1/orders?limit=5&status=open');
});
