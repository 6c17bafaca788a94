/** The real Alpaca adapter (SDK and all) aimed at a fake Alpaca server, with the timeouts tests use. */
import { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import type { FakeAlpacaServer } from './fake-alpaca.server';

export function alpacaClientOf(
  fake: FakeAlpacaServer,
  timeouts: { submitTimeoutMs?: number; requestTimeoutMs?: number } = {},
): AlpacaBrokerClient {
  return new AlpacaBrokerClient({
    keyId: fake.keyId,
    secretKey: fake.secretKey,
    baseUrl: fake.baseUrl,
    streamUrl: fake.streamUrl,
    submitTimeoutMs: timeouts.submitTimeoutMs ?? 2000,
    requestTimeoutMs: timeouts.requestTimeoutMs ?? 2000,
    stream: { watchdogMs: 5000, handshakeTimeoutMs: 1000, initialReconnectMs: 50, maxReconnectMs: 200 },
  });
}
