/**
 * The fake Alpaca's rate-limit mode (fake-alpaca.faults.ts `RateLimitMode`)
 * made to refuse: above its sliding-window budget every trading request is
 * answered 429 with Retry-After and Alpaca's error body, and not acted on.
 * The real adapter turns that answer into the gateway's rate-limited outcome
 * (a retryable BrokerError with status 429 and the broker's Retry-After), and
 * the paced client shrinks the shared budget on it (docs/broker-pacing.md#a-broker-429).
 */
import { BrokerPacer } from '../../../src/broker/pacing/broker-pacer';
import { paceBrokerClient } from '../../../src/broker/pacing/paced-broker-client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { SystemScheduler } from '../../../src/infra/clock/scheduler';
import { MemoryStateStore } from '../../../src/infra/state/memory-state-store';
import { RateLimitMode } from '../../support/fake-alpaca/fake-alpaca.faults';
import { adapterHarness, brokerError, orderRequest } from './alpaca-adapter.harness';

const { fake, client } = adapterHarness();

function headers(): Record<string, string> {
  return {
    'APCA-API-KEY-ID': fake.keyId,
    'APCA-API-SECRET-KEY': fake.secretKey,
    'Content-Type': 'application/json',
  };
}

function post(clientOrderId: string): Promise<Response> {
  return fetch(`${fake.baseUrl}/v2/orders`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({
      symbol: 'AAPL',
      qty: '1',
      side: 'buy',
      type: 'market',
      time_in_force: 'day',
      client_order_id: clientOrderId,
    }),
  });
}

describe('fake Alpaca: rate-limit mode', () => {
  it('admits up to the limit, then answers 429 with Retry-After and Alpaca’s body, acting on nothing', async () => {
    fake.setRateLimit(2, 60_000);
    expect((await post('rl-1')).status).toBe(200);
    expect((await post('rl-2')).status).toBe(200);

    const refused = await post('rl-3');
    expect(refused.status).toBe(429);
    // The oldest admitted request leaves the window in just under a minute: whole seconds, rounded up.
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await refused.json()).toEqual({ code: 42910000, message: 'rate limit exceeded' });
    expect(fake.orderByClientOrderId('rl-3')).toBeUndefined();
    expect(fake.orders()).toHaveLength(2);

    // Every trading request counts, not only submissions.
    const account = await fetch(`${fake.baseUrl}/v2/account`, { headers: headers() });
    expect(account.status).toBe(429);
    expect(fake.rateLimit.refused).toBe(2);
    expect(fake.rateLimit.maxInWindow).toBe(2);
  });

  it('is a sliding window: room again once the oldest request has left it, never more than the limit inside', () => {
    // The mode itself, on explicit times (the server passes Date.now()).
    const mode = new RateLimitMode();
    mode.set(2, 1_000);
    expect(mode.take(0)).toBeNull();
    expect(mode.take(500)).toBeNull();
    expect(mode.take(999)).toMatchObject({ status: 429, headers: { 'Retry-After': '1' } });
    // The request at 0 has left the window at 1 000, the one at 500 has not: one more, and no second one.
    expect(mode.take(1_000)).toBeNull();
    const refused = mode.take(1_200);
    expect(refused).toMatchObject({ status: 429, body: { code: 42910000, message: 'rate limit exceeded' } });
    expect(mode.take(1_500)).toBeNull();
    expect(mode.maxInWindow).toBe(2);
    expect(mode.refused).toBe(2);
    // Retry-After is when the oldest request in the window leaves it, in whole seconds (at least one).
    mode.set(3, 10_000);
    for (const t of [0, 100, 200]) expect(mode.take(t)).toBeNull();
    expect(mode.take(300)).toMatchObject({ headers: { 'Retry-After': '10' } });
    expect(mode.take(8_500)).toMatchObject({ headers: { 'Retry-After': '2' } });
    mode.set(null);
    expect(mode.take(8_600)).toBeNull();
  });

  it('off by default and after reset: no request is refused', async () => {
    for (let i = 0; i < 5; i += 1) expect((await post(`off-${i}`)).status).toBe(200);
    expect(fake.rateLimit.refused).toBe(0);
  });
});

describe('Alpaca adapter against the rate-limit mode', () => {
  it('turns the 429 into a retryable rate-limited error carrying the broker’s Retry-After, without retrying', async () => {
    const alpaca = client();
    fake.setRateLimit(1, 60_000);
    await alpaca.submitOrder(orderRequest('ad-1'));
    const e = await brokerError(alpaca.submitOrder(orderRequest('ad-2')));
    expect(e).toMatchObject({ kind: 'retryable', details: { status: 429, code: 42910000, retryAfterMs: 60_000 } });
    expect(fake.postOrderCount('ad-2')).toBe(1);
    expect(fake.orderByClientOrderId('ad-2')).toBeUndefined();
    // Reads meet the same limit and the same outcome.
    expect(await brokerError(alpaca.getAccount())).toMatchObject({ kind: 'retryable', details: { status: 429 } });
  });

  it('through the paced client, the 429 shrinks the budget in force for the window', async () => {
    const pacer = new BrokerPacer({
      budget: 10,
      windowMs: 60_000,
      store: new MemoryStateStore(),
      clock: new SystemClock(),
      scheduler: new SystemScheduler(),
    });
    const paced = paceBrokerClient(client(), pacer);
    // The broker allows fewer than the configured budget (another client on the account, say).
    fake.setRateLimit(2, 60_000);
    await paced.submitOrder(orderRequest('pc-1'));
    await paced.submitOrder(orderRequest('pc-2'));
    expect(pacer.usage().budget).toBe(10);
    const e = await brokerError(paced.submitOrder(orderRequest('pc-3')));
    expect(e).toMatchObject({ kind: 'retryable', details: { status: 429, retryAfterMs: 60_000 } });
    expect(pacer.usage().budget).toBe(9);
    pacer.close();
  });
});
