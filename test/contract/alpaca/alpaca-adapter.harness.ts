/**
 * Shared by the Alpaca adapter's contract specs: one fake Alpaca server per
 * spec file, reset before every test, and adapters on the real SDK pointed at
 * it (disconnected after every test, which must leave no internal error).
 */
import { AlpacaBrokerClient, type AlpacaBrokerClientOptions } from '../../../src/broker/alpaca/alpaca-broker-client';
import type { AlpacaLogger } from '../../../src/broker/alpaca/alpaca-logger';
import { BrokerError, type BrokerOrderRequest } from '../../../src/broker/broker-client.port';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';

export interface LogEntry {
  level: string;
  message: string;
  context?: Record<string, unknown>;
}

export interface AdapterHarness {
  fake: FakeAlpacaServer;
  /** What the adapters logged during the current test. */
  logs: LogEntry[];
  /** An adapter on the fake with short timeouts and stream timers; disconnected after the test. */
  client(overrides?: Partial<AlpacaBrokerClientOptions>): AlpacaBrokerClient;
}

/** Registers the spec file's hooks; call once, at the top level. */
export function adapterHarness(): AdapterHarness {
  const fake = new FakeAlpacaServer();
  const clients: AlpacaBrokerClient[] = [];
  const logs: LogEntry[] = [];
  const logger: AlpacaLogger = {
    info: (message, context) => logs.push({ level: 'info', message, context }),
    warn: (message, context) => logs.push({ level: 'warn', message, context }),
    error: (message, context) => logs.push({ level: 'error', message, context }),
  };

  function client(overrides: Partial<AlpacaBrokerClientOptions> = {}): AlpacaBrokerClient {
    const c = new AlpacaBrokerClient({
      keyId: fake.keyId,
      secretKey: fake.secretKey,
      baseUrl: fake.baseUrl,
      streamUrl: fake.streamUrl,
      submitTimeoutMs: 2000,
      requestTimeoutMs: 2000,
      logger,
      stream: {
        watchdogMs: 600,
        handshakeTimeoutMs: 1000,
        initialReconnectMs: 50,
        maxReconnectMs: 200,
        reconnectJitter: 0,
      },
      ...overrides,
    });
    clients.push(c);
    return c;
  }

  beforeAll(async () => {
    await fake.start();
  });

  afterAll(async () => {
    await fake.stop();
  });

  beforeEach(() => {
    fake.reset();
    logs.length = 0;
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.disconnect()));
    expect(fake.internalErrors()).toEqual([]);
  });

  return { fake, logs, client };
}

export function orderRequest(clientOrderId: string, overrides: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest {
  return {
    clientOrderId,
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    type: 'market',
    timeInForce: 'day',
    limitPrice: null,
    stopPrice: null,
    ...overrides,
  };
}

export async function brokerError(p: Promise<unknown>): Promise<BrokerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BrokerError) return err;
    throw err;
  }
  throw new Error('expected a BrokerError');
}

export async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
