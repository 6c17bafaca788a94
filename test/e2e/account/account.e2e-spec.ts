/**
 * GET /api/v1/account (docs/api.md#account): the broker account's balances as
 * decimal strings, from the sim's ledger here, cached for 2 s of the gateway's
 * clock; a broker that cannot be read is a 503 BROKER_UNAVAILABLE.
 */
import { ACCOUNT_CACHE_TTL_MS } from '../../../src/account/account-reader.service';
import type { BrokerClient } from '../../../src/broker/broker-client.port';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { ManualClock, SystemClock } from '../../../src/infra/clock/clock';
import { createKey } from '../../support/api-keys';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectError } from '../../support/http-expect';

let t: TestApp;
let sim: SimBrokerClient;
let brokerDown = false;
const clock = new ManualClock(new Date());

/** The sim, except that its account cannot be read while `brokerDown`. */
function withAccountOutage(broker: SimBrokerClient): BrokerClient {
  return new Proxy(broker, {
    get(target, prop) {
      if (prop === 'getAccount' && brokerDown) return () => Promise.reject(new Error('broker unreachable'));
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

beforeAll(async () => {
  sim = new SimBrokerClient({ clock: new SystemClock(), referencePrices: { ACCL: '50', ACCS: '20' } });
  t = await startTestApp({ env: { DRY_RUN: 'false' }, broker: withAccountOutage(sim), clock });
});

afterAll(async () => {
  await t?.close();
});

const account = () => t.http.get('/api/v1/account').set(auth);

async function filled(body: object): Promise<void> {
  const res = await t.http.post('/api/v1/orders').set(auth).send(body);
  expect(res.status).toBe(201);
  await sim.settle();
}

it('answers the balances as decimal strings, cached for 2 s of the clock', async () => {
  const before = await account();
  expect(before.status).toBe(200);
  expect(before.body).toEqual({
    equity: '100000',
    cash: '100000',
    buying_power: '100000',
    long_market_value: '0',
    short_market_value: '0',
    currency: 'USD',
    trading_blocked: false,
    as_of: clock.now().toISOString(),
  });

  await filled({ symbol: 'ACCL', side: 'buy', qty: 10 });
  await filled({ symbol: 'ACCS', side: 'sell', qty: 5 });
  // Still the cached reading.
  expect((await account()).body).toEqual(before.body);

  clock.advance(ACCOUNT_CACHE_TTL_MS);
  const after = await account();
  expect(after.status).toBe(200);
  expect(after.body).toMatchObject({
    cash: '99600', // − 10 × 50 + 5 × 20
    long_market_value: '500',
    short_market_value: '-100',
    equity: '100000',
    as_of: clock.now().toISOString(),
  });
  for (const k of ['equity', 'cash', 'buying_power', 'long_market_value', 'short_market_value']) {
    expect(after.body[k]).toMatch(/^-?\d+(\.\d+)?$/);
  }
});

it('a broker that cannot be read is a 503 BROKER_UNAVAILABLE, and the next reading goes through', async () => {
  clock.advance(ACCOUNT_CACHE_TTL_MS);
  brokerDown = true;
  try {
    const res = await account();
    expectError(res, 503, 'BROKER_UNAVAILABLE');
    expect(res.text).not.toContain('unreachable');
  } finally {
    brokerDown = false;
  }
  expect((await account()).status).toBe(200);
});

it('needs VIEW_POSITIONS', async () => {
  const viewer = await createKey(t, ['VIEW_POSITIONS'], ['*']);
  expect((await t.http.get('/api/v1/account').set(viewer.auth)).status).toBe(200);
  const other = await createKey(t, ['VIEW_ORDERS'], ['*']);
  expectError(await t.http.get('/api/v1/account').set(other.auth), 403, 'PERMISSION_DENIED');
  expectError(await t.http.get('/api/v1/account'), 401, 'UNAUTHENTICATED');
});
