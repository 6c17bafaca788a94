/**
 * The access log (docs/operations.md#logs-and-request-ids): an error answer's line carries its
 * `error` code, so two answers with the same status (a 503 from the kill switch
 * and one from a quarantine) can be told apart in the log alone; a success
 * carries none. Lines are read at the logger's own output stream.
 */
import { PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { auth, startTestApp, TestApp } from '../../support/app';

interface AccessLine {
  msg: string;
  method: string;
  url: string;
  status_code: number;
  error_code?: string;
}

let t: TestApp;
let lines: string[] = [];
let root: pino.Logger & Record<symbol, { write(s: string): boolean }>;

beforeAll(async () => {
  t = await startTestApp();
  root = PinoLogger.root as unknown as typeof root;
  root.level = 'info';
  jest.spyOn(root[pino.symbols.streamSym], 'write').mockImplementation((s: string) => {
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

async function lastAccessLine(): Promise<AccessLine> {
  await new Promise((r) => setTimeout(r, 50));
  const access = lines.map((l) => JSON.parse(l) as AccessLine).filter((l) => l.msg === 'request completed');
  expect(access.length).toBeGreaterThan(0);
  return access[access.length - 1];
}

const order = { symbol: 'AAPL', side: 'buy', qty: 1 };

it('a 503 from the kill switch is logged with KILL_SWITCH_ENGAGED', async () => {
  await t.http.post('/api/v1/kill-switch/engage').set(auth).send({ reason: 'log test', operator: 'jane' }).expect(200);
  try {
    const res = await t.http.post('/api/v1/orders').set(auth).send(order);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('KILL_SWITCH_ENGAGED');
    expect(await lastAccessLine()).toMatchObject({
      method: 'POST',
      url: '/api/v1/orders',
      status_code: 503,
      error_code: 'KILL_SWITCH_ENGAGED',
    });
  } finally {
    await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'jane' });
  }
});

it('a refused field, a missing key and an unknown path each log their own code', async () => {
  await t.http
    .post('/api/v1/orders')
    .set(auth)
    .send({ ...order, qty: 'lots' })
    .expect(422);
  expect((await lastAccessLine()).error_code).toBe('VALIDATION_FAILED');
  await t.http.get('/api/v1/orders').expect(401);
  expect((await lastAccessLine()).error_code).toBe('UNAUTHENTICATED');
  await t.http.get('/no/such/path').expect(404);
  expect(await lastAccessLine()).toMatchObject({ status_code: 404, error_code: 'NOT_FOUND' });
});

it('a success carries no error code', async () => {
  await t.http.get('/api/v1/orders').set(auth).expect(200);
  const line = await lastAccessLine();
  expect(line.status_code).toBe(200);
  expect(line).not.toHaveProperty('error_code');
});
