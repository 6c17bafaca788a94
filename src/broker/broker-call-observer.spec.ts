import { ManualClock } from '../infra/clock/clock';
import {
  BrokerCallObserver,
  BrokerCallOutcome,
  classifyBrokerFailure,
  isBrokerHealthFailure,
  observeBrokerClient,
} from './broker-call-observer';
import { BrokerError } from './broker-client.port';
import { SimBrokerClient } from './sim/sim-broker.client';

describe('classifyBrokerFailure / isBrokerHealthFailure', () => {
  it('counts retryable, unknown outcome, auth and timeouts; not rejections or not-found', () => {
    const counted = (e: unknown) => isBrokerHealthFailure(classifyBrokerFailure(e));
    expect(counted(new BrokerError('retryable', '429'))).toBe(true);
    expect(counted(new BrokerError('unknown_outcome', '502'))).toBe(true);
    expect(counted(new BrokerError('auth', '401'))).toBe(true);
    expect(counted(Object.assign(new Error('slow'), { name: 'TimeoutError' }))).toBe(true);
    expect(counted(Object.assign(new Error('slow'), { code: 'ETIMEDOUT' }))).toBe(true);
    expect(counted(new BrokerError('rejected', 'insufficient buying power'))).toBe(false);
    expect(counted(new BrokerError('not_found', 'no such order'))).toBe(false);
    expect(counted(new Error('bug'))).toBe(false);
  });
});

describe('observeBrokerClient', () => {
  const setup = () => {
    const sim = new SimBrokerClient({ clock: new ManualClock() });
    const observer = new BrokerCallObserver();
    const seen: BrokerCallOutcome[] = [];
    observer.listen((o) => seen.push(o));
    return { sim, observer, seen, client: observeBrokerClient(sim, observer) };
  };

  it('forwards the port and reports each outcome', async () => {
    const { sim, client, seen } = setup();
    expect(client.name).toBe(sim.name);
    expect(client).toBeInstanceOf(SimBrokerClient);
    await expect(client.getAccount()).resolves.toMatchObject({ equity: '100000' });
    sim.failNext('unknown_outcome');
    await expect(
      client.submitOrder({
        clientOrderId: 'obs-1',
        symbol: 'AAPL',
        side: 'buy',
        qty: '1',
        type: 'market',
        timeInForce: 'day',
        limitPrice: null,
        stopPrice: null,
      }),
    ).rejects.toMatchObject({ kind: 'unknown_outcome' });
    await expect(client.getOrder('nope')).resolves.toBeNull();
    expect(seen.map((o) => [o.operation, o.ok, o.outcome])).toEqual([
      ['getAccount', true, 'ok'],
      ['submitOrder', false, 'unknown_outcome'],
      ['getOrder', true, 'ok'],
    ]);
    expect(seen[1].error).toBeInstanceOf(BrokerError);
  });

  it("keeps the adapter's own methods reachable, bound to the adapter", () => {
    const { sim, client } = setup();
    (client as SimBrokerClient).failNext('retryable', 2);
    expect(sim.pendingFaults()).toBe(2);
    expect(client.streamState()).toBe(sim.streamState());
  });

  it('forwards the stream handlers untouched', async () => {
    const { client, seen } = setup();
    const onConnected = jest.fn();
    await client.connect({ onUpdate: jest.fn(), onConnected });
    expect(client.streamState()).toBe('connected');
    await client.disconnect();
    expect(seen.map((o) => o.operation)).toEqual(['connect', 'disconnect']);
  });

  it("a listener's failure never reaches the broker call", async () => {
    const { client, observer } = setup();
    observer.listen(() => {
      throw new Error('listener bug');
    });
    await expect(client.listPositions()).resolves.toEqual([]);
  });
});
