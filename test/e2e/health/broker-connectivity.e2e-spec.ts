/**
 * /health reports the broker connectivity (`alpaca_connected`, the original
 * design's field) from the leader's trade stream, without failing readiness:
 * a broker outage must not take the replicas out of the load balancer
 * (docs/operations.md#health-and-readiness, docs/api.md#compatibility).
 * Against the fake Alpaca: connected, the stream cut (sockets dropped and new
 * ones never answered), the stream back, then the fake stopped altogether.
 */
import { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { auth, startTestApp, TestApp } from '../../support/app';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { eventually } from '../../support/wait';

jest.setTimeout(60_000);

interface Health {
  status: string;
  alpaca_connected: boolean;
  database_connected: boolean;
  details: Record<string, { status: string; state?: string; leader?: boolean }>;
}

describe('/health broker connectivity against the fake Alpaca (e2e)', () => {
  const fake = new FakeAlpacaServer();
  let fakeRunning = false;
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    fakeRunning = true;
    alpaca = new AlpacaBrokerClient({
      keyId: fake.keyId,
      secretKey: fake.secretKey,
      baseUrl: fake.baseUrl,
      streamUrl: fake.streamUrl,
      submitTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      stream: { watchdogMs: 5000, handshakeTimeoutMs: 1000, initialReconnectMs: 50, maxReconnectMs: 500 },
    });
    t = await startTestApp({
      broker: alpaca,
      env: {
        BROKER: 'alpaca',
        ALPACA_API_KEY_ID: fake.keyId,
        ALPACA_API_SECRET_KEY: fake.secretKey,
        ALPACA_BASE_URL: fake.baseUrl,
        ALPACA_STREAM_URL: fake.streamUrl,
        DRY_RUN: 'false',
        ORDER_POLL_INTERVAL_SECONDS: '3600',
        RECONCILIATION_INTERVAL_SECONDS: '3600',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    if (fakeRunning) await fake.stop();
  });

  const health = async (withKey = false) => {
    const res = withKey ? await t.http.get('/health').set(auth) : await t.http.get('/health');
    return { code: res.status, body: res.body as Health };
  };
  const connected = (want: boolean) => eventually(health, (h) => h.body.alpaca_connected === want, 15_000);
  const streamUp = async () => {
    const text = (await t.http.get('/metrics')).text;
    const line = text
      .split('\n')
      .find((l) => l.startsWith('execution_gateway_component_up{component="broker_stream"} '));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  /** The broker's connectivity is reported, never a reason to fail health or readiness. */
  async function expectServingWithout(): Promise<void> {
    const h = await health();
    expect(h.code).toBe(200);
    expect(h.body).toMatchObject({ alpaca_connected: false, database_connected: true });
    expect(h.body.details.broker_stream).toEqual({ status: 'degraded' });
    expect(h.body.details.database).toEqual({ status: 'up' });
    const ready = await t.http.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(await streamUp()).toBe(0);
  }

  it("is true while the leader's trade stream is connected", async () => {
    const h = await connected(true);
    expect(h.code).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', alpaca_connected: true, database_connected: true });
    expect(h.body.details.broker_stream).toEqual({ status: 'up' });
    const detailed = await health(true);
    expect(detailed.body.details.broker_stream).toMatchObject({
      status: 'up',
      leader: true,
      state: 'connected',
    });
    expect(fake.streamStats().openConnections).toBe(1);
    expect(await streamUp()).toBe(1);
  });

  it('is false while the stream is cut, readiness still 200; true again once the stream is back', async () => {
    fake.silenceStream({ includeNewConnections: true });
    fake.dropStreamConnections();
    expect((await connected(false)).body.alpaca_connected).toBe(false);
    const detailed = await health(true);
    expect(detailed.body.details.broker_stream).toMatchObject({ status: 'degraded', leader: true });
    expect(detailed.body.details.broker_stream.state).not.toBe('connected');
    await expectServingWithout();

    fake.unsilenceStream();
    expect((await connected(true)).body.alpaca_connected).toBe(true);
    expect(await streamUp()).toBe(1);
  });

  it('is false once the fake broker is stopped altogether, readiness still 200', async () => {
    await fake.stop();
    fakeRunning = false;
    expect((await connected(false)).body.alpaca_connected).toBe(false);
    await expectServingWithout();
    // It stays so: the gateway keeps trying to reconnect, and serving.
    await new Promise((r) => setTimeout(r, 1_500));
    await expectServingWithout();
  });
});
