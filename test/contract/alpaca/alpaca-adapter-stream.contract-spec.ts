/**
 * The real Alpaca adapter on the real SDK against the fake Alpaca server: the
 * trade_updates stream, its frames, and its reconnect / watchdog behaviour.
 */
import type { OrderUpdate, StreamState } from '../../../src/broker/broker-client.port';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { adapterHarness, brokerError, orderRequest, waitFor } from './alpaca-adapter.harness';

const { fake, client, logs } = adapterHarness();

describe('Alpaca adapter: trade_updates stream', () => {
  interface Recorder {
    updates: OrderUpdate[];
    connected: boolean[];
    states: Array<[StreamState, string | undefined]>;
  }

  function recorder(): Recorder & {
    handlers: {
      onUpdate(u: OrderUpdate): void;
      onConnected(r: boolean): void;
      onStateChange(s: StreamState, why?: string): void;
    };
  } {
    const r: Recorder = { updates: [], connected: [], states: [] };
    return {
      ...r,
      handlers: {
        onUpdate: (u) => void r.updates.push(u),
        onConnected: (reconnect) => void r.connected.push(reconnect),
        onStateChange: (s, why) => void r.states.push([s, why]),
      },
    };
  }

  it('delivers new, partial_fill and fill with execution ids', async () => {
    const alpaca = client();
    const rec = recorder();
    await alpaca.connect(rec.handlers);
    expect(alpaca.streamState()).toBe('connected');
    expect(rec.connected).toEqual([false]);

    fake.setFillBehaviour({ mode: 'partial', steps: 2 });
    fake.setPrice('AAPL', '190.05');
    const order = await alpaca.submitOrder(orderRequest('eg-s1', { qty: '5' }));
    await waitFor(() => rec.updates.length === 3);
    expect(rec.updates.map((u) => u.event)).toEqual(['new', 'partial_fill', 'fill']);
    expect(rec.updates.every((u) => u.order.id === order.id)).toBe(true);
    const [, partial, fill] = rec.updates;
    expect(partial.execution).toEqual({ executionId: expect.any(String), qty: '2', price: '190.05', positionQty: '2' });
    expect(fill.execution).toMatchObject({ qty: '3', price: '190.05', positionQty: '5' });
    expect(fill.execution!.executionId).not.toBe(partial.execution!.executionId);
    expect(fill.order).toMatchObject({ status: 'filled', filledQty: '5', filledAvgPrice: '190.05' });
    expect(rec.updates[0].execution).toBeUndefined();
    expect(rec.states.map(([s]) => s)).toEqual(['connecting', 'connected']);
  });

  it('reads binary frames too', async () => {
    fake.setFrameMode('binary');
    const alpaca = client();
    const rec = recorder();
    await alpaca.connect(rec.handlers);
    fake.setFillBehaviour({ mode: 'instant' });
    await alpaca.submitOrder(orderRequest('eg-bin'));
    await waitFor(() => rec.updates.length === 2);
    expect(rec.updates.map((u) => u.event)).toEqual(['new', 'fill']);
  });

  it('reconnects after the connection drops and calls onConnected(true), then streams again', async () => {
    const alpaca = client();
    const rec = recorder();
    await alpaca.connect(rec.handlers);
    fake.dropStreamConnections();
    await waitFor(() => rec.connected.length === 2);
    expect(rec.connected).toEqual([false, true]);
    expect(rec.states.map(([s]) => s)).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
    expect(fake.streamStats()).toMatchObject({ connections: 2, authorized: 2, listens: 2 });

    await alpaca.submitOrder(orderRequest('eg-after-reconnect'));
    await waitFor(() => rec.updates.length === 1);
    expect(rec.updates[0].order.clientOrderId).toBe('eg-after-reconnect');
  });

  it('the watchdog replaces a silent socket (no frames, no pongs) within the configured window', async () => {
    const alpaca = client();
    const rec = recorder();
    await alpaca.connect(rec.handlers);
    await new Promise((r) => setTimeout(r, 250)); // a few pings answered: the socket is healthy
    expect(rec.connected).toEqual([false]);

    const silencedAt = Date.now();
    fake.silenceStream();
    await waitFor(() => rec.connected.length === 2, 2500);
    const elapsed = Date.now() - silencedAt;
    expect(rec.connected).toEqual([false, true]);
    expect(elapsed).toBeGreaterThanOrEqual(300); // not before the socket had been silent for a while
    expect(elapsed).toBeLessThan(600 + 400 + 500); // watchdog window + check tick + reconnect delay and handshake
    expect(logs.some((l) => l.level === 'warn' && /silent/.test(l.message))).toBe(true);
    expect(alpaca.streamState()).toBe('connected');
  });

  it('delivers replayed events again: deduplication by execution id is the OMS job', async () => {
    const alpaca = client();
    const rec = recorder();
    await alpaca.connect(rec.handlers);
    fake.setFillBehaviour({ mode: 'instant' });
    await alpaca.submitOrder(orderRequest('eg-replay'));
    await waitFor(() => rec.updates.length === 2);
    fake.replayLastEvents(1);
    await waitFor(() => rec.updates.length === 3);
    expect(rec.updates[2].event).toBe('fill');
    expect(rec.updates[2].execution!.executionId).toBe(rec.updates[1].execution!.executionId);
  });

  it('passes unknown events through and survives an unreadable one', async () => {
    const alpaca = client();
    const rec = recorder();
    await alpaca.connect(rec.handlers);
    const order = await alpaca.submitOrder(orderRequest('eg-odd'));
    await waitFor(() => rec.updates.length === 1);
    fake.emitEvent({ event: 'new', order: { ...fake.order(order.id)!, id: undefined }, timestamp: 'x' });
    fake.setOrderStatus(order.id, 'held_for_review', 'brand_new_event');
    await waitFor(() => rec.updates.length === 2);
    expect(rec.updates[1]).toMatchObject({ event: 'brand_new_event', order: { status: 'held_for_review' } });
    expect(logs.some((l) => l.level === 'error' && /unreadable trade update/.test(l.message))).toBe(true);
  });

  it('refused credentials reject connect with an auth error and do not reconnect', async () => {
    const alpaca = client({ secretKey: 'wrong' });
    const rec = recorder();
    const e = await brokerError(alpaca.connect(rec.handlers));
    expect(e.kind).toBe('auth');
    expect(alpaca.streamState()).toBe('disconnected');
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.streamStats().authAttempts).toBe(1);
    expect(rec.connected).toEqual([]);
    expect(logs.some((l) => l.level === 'error' && /refused the credentials/.test(l.message))).toBe(true);
  });

  it('a first connection that fails resolves connect and keeps retrying until the stream is reachable', async () => {
    const late = new FakeAlpacaServer({ keyId: fake.keyId, secretKey: fake.secretKey });
    await late.start();
    const url = late.streamUrl;
    await late.stop(); // nothing listens on this port for now
    const alpaca = client({ streamUrl: url });
    const rec = recorder();
    await alpaca.connect(rec.handlers);
    expect(alpaca.streamState()).not.toBe('connected');
    expect(rec.connected).toEqual([]);
    expect(rec.states.map(([s]) => s)).toContain('disconnected');
    await alpaca.disconnect();
  });

  it('disconnect stops the stream for good', async () => {
    const alpaca = client();
    const rec = recorder();
    await alpaca.connect(rec.handlers);
    await alpaca.disconnect();
    expect(alpaca.streamState()).toBe('disconnected');
    await waitFor(() => fake.streamStats().openConnections === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.streamStats().connections).toBe(1);
  });
});
