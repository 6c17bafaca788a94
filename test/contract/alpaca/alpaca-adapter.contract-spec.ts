/**
 * The real Alpaca adapter on the real SDK against the fake Alpaca server:
 * wire format, error classification under injected faults, and the stream's
 * reconnect / watchdog behaviour.
 */
import { AlpacaBrokerClient, type AlpacaBrokerClientOptions } from '../../../src/broker/alpaca/alpaca-broker-client';
import type { AlpacaLogger } from '../../../src/broker/alpaca/alpaca-logger';
import {
  BrokerError,
  type BrokerOrderRequest,
  type OrderUpdate,
  type StreamState,
} from '../../../src/broker/broker-client.port';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';

const fake = new FakeAlpacaServer();
const clients: AlpacaBrokerClient[] = [];
const logs: Array<{ level: string; message: string; context?: Record<string, unknown> }> = [];
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

function orderRequest(clientOrderId: string, overrides: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest {
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

async function brokerError(p: Promise<unknown>): Promise<BrokerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BrokerError) return err;
    throw err;
  }
  throw new Error('expected a BrokerError');
}

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
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

describe('Alpaca adapter: commands and reports', () => {
  it('submits decimal strings with our client_order_id and finds the order by it', async () => {
    const alpaca = client();
    const order = await alpaca.submitOrder(orderRequest('eg-1', { type: 'limit', limitPrice: '150.50' }));
    expect(order).toMatchObject({
      clientOrderId: 'eg-1',
      symbol: 'AAPL',
      side: 'buy',
      qty: '10',
      type: 'limit',
      limitPrice: '150.5',
      status: 'new',
      filledQty: '0',
      filledAvgPrice: null,
    });
    expect(order.createdAt).toBeInstanceOf(Date);
    const [post] = fake.requests('POST /v2/orders');
    expect(post.body).toEqual({
      client_order_id: 'eg-1',
      symbol: 'AAPL',
      side: 'buy',
      qty: '10',
      type: 'limit',
      time_in_force: 'day',
      limit_price: '150.5',
    });

    expect(await alpaca.getOrderByClientOrderId('eg-1')).toMatchObject({ id: order.id, status: 'new' });
    expect(await alpaca.getOrder(order.id)).toMatchObject({ clientOrderId: 'eg-1' });
    expect(await alpaca.getOrderByClientOrderId('never-sent')).toBeNull();
    expect(await alpaca.getOrder('00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('classifies a duplicate client_order_id as rejected with duplicateClientOrderId', async () => {
    const alpaca = client();
    const first = await alpaca.submitOrder(orderRequest('eg-dup'));
    await alpaca.cancelOrder(first.id);
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-dup')));
    expect(e.kind).toBe('rejected');
    expect(e.details).toMatchObject({ status: 422, code: 40010001, duplicateClientOrderId: true });
  });

  it('a 500 after the broker stored the order is an unknown outcome, resolved by lookup', async () => {
    const alpaca = client();
    fake.failNext('POST /v2/orders', 1, { status: 500, afterAccept: true });
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-500')));
    expect(e).toMatchObject({ kind: 'unknown_outcome', details: { status: 500 } });
    expect(await alpaca.getOrderByClientOrderId('eg-500')).toMatchObject({ clientOrderId: 'eg-500' });
    expect(fake.postOrderCount('eg-500')).toBe(1);
  });

  it('a 503 before acting is also unknown (the adapter cannot tell), and the lookup then finds nothing', async () => {
    const alpaca = client();
    fake.failNext('POST /v2/orders', 1, { status: 503 });
    expect((await brokerError(alpaca.submitOrder(orderRequest('eg-503')))).kind).toBe('unknown_outcome');
    expect(await alpaca.getOrderByClientOrderId('eg-503')).toBeNull();
  });

  it('a dropped answer after accept is an unknown outcome, with exactly one order and one POST (no retry)', async () => {
    const alpaca = client();
    fake.dropResponseAfterAccept(1);
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-drop')));
    expect(e.kind).toBe('unknown_outcome');
    expect(e.message).toMatch(/network failure/);
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.postOrderCount()).toBe(1);
    expect(fake.postOrderCount('eg-drop')).toBe(1);
    expect(fake.orders()).toHaveLength(1);
    expect(await alpaca.getOrderByClientOrderId('eg-drop')).toMatchObject({ status: 'new' });
  });

  it('a submit past its deadline is an unknown outcome, even though the broker acted', async () => {
    const alpaca = client({ submitTimeoutMs: 150 });
    fake.delayResponse(1500, { route: 'POST /v2/orders', count: 2 });
    const started = Date.now();
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-late')));
    expect(e.kind).toBe('unknown_outcome');
    expect(e.message).toMatch(/deadline of 150 ms exceeded/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.orderByClientOrderId('eg-late')).toBeDefined();
    expect(fake.postOrderCount()).toBe(1);

    // A per-call deadline overrides the configured one.
    const again = await brokerError(alpaca.submitOrder(orderRequest('eg-late-2'), { timeoutMs: 50 }));
    expect(again.kind).toBe('unknown_outcome');
  });

  it('429 is retryable with the broker retry-after, and is not retried by the SDK', async () => {
    const alpaca = client();
    fake.failNext('POST /v2/orders', 1, { status: 429, retryAfterSeconds: 2 });
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-429')));
    expect(e).toMatchObject({ kind: 'retryable', details: { status: 429, retryAfterMs: 2000 } });
    expect(fake.postOrderCount()).toBe(1);
    fake.failNext('GET /v2/orders', 1, { status: 429 });
    expect((await brokerError(alpaca.listOrders({ status: 'open' }))).kind).toBe('retryable');
    expect(fake.requests('GET /v2/orders')).toHaveLength(1);
  });

  it('403 insufficient buying power is a rejection; wrong keys are an auth error', async () => {
    fake.rejectNext(1);
    const e = await brokerError(client().submitOrder(orderRequest('eg-403')));
    expect(e).toMatchObject({ kind: 'rejected', details: { status: 403, code: 40310000 } });
    expect(fake.orders()).toHaveLength(0);

    const wrong = client({ secretKey: 'wrong' });
    expect((await brokerError(wrong.getAccount())).kind).toBe('auth');
  });

  it('cancel: 204 is acceptance, 422 is "not cancelable", unknown id is not_found', async () => {
    const alpaca = client();
    const order = await alpaca.submitOrder(orderRequest('eg-cancel'));
    await expect(alpaca.cancelOrder(order.id)).resolves.toBeUndefined();
    const e = await brokerError(alpaca.cancelOrder(order.id));
    expect(e).toMatchObject({ kind: 'rejected', details: { status: 422 } });
    expect(e.message).toMatch(/not cancelable/);
    expect((await brokerError(alpaca.cancelOrder('00000000-0000-4000-8000-00000000dead'))).kind).toBe('not_found');
  });

  it('replace returns the new order; cancel-all reports each order', async () => {
    const alpaca = client();
    const old = await alpaca.submitOrder(orderRequest('eg-r1', { type: 'limit', limitPrice: '1' }));
    const next = await alpaca.replaceOrder(old.id, { limitPrice: '1.25', clientOrderId: 'eg-r2' });
    expect(next).toMatchObject({ clientOrderId: 'eg-r2', replaces: old.id, limitPrice: '1.25' });
    expect(await alpaca.getOrder(old.id)).toMatchObject({ status: 'replaced', replacedBy: next.id });
    const other = await alpaca.submitOrder(orderRequest('eg-r3', { type: 'limit', limitPrice: '1' }));
    expect(await alpaca.cancelAllOrders()).toEqual([
      { brokerOrderId: next.id, status: 200 },
      { brokerOrderId: other.id, status: 200 },
    ]);
  });

  it('lists orders by status and symbols', async () => {
    const alpaca = client();
    const a = await alpaca.submitOrder(orderRequest('eg-l1'));
    const b = await alpaca.submitOrder(orderRequest('eg-l2', { symbol: 'MSFT' }));
    await alpaca.cancelOrder(a.id);
    expect((await alpaca.listOrders({ status: 'open' })).map((o) => o.id)).toEqual([b.id]);
    expect((await alpaca.listOrders({ status: 'closed' })).map((o) => o.id)).toEqual([a.id]);
    expect(await alpaca.listOrders({ status: 'all', symbols: ['AAPL', 'TSLA'] })).toHaveLength(1);
    expect(fake.requests('GET /v2/orders').at(-1)!.query).toMatchObject({ symbols: 'AAPL,TSLA', limit: '500' });
  });

  it('positions are signed, close-position returns the closing order, the account maps its blocks', async () => {
    const alpaca = client();
    fake.setFillBehaviour({ mode: 'instant' });
    fake.setPrice('AAPL', '187.5');
    fake.setPrice('TSLA', '250');
    await alpaca.submitOrder(orderRequest('eg-p1', { qty: '10' }));
    await alpaca.submitOrder(orderRequest('eg-p2', { symbol: 'TSLA', side: 'sell', qty: '3' }));
    await fake.whenIdle();
    expect(await alpaca.listPositions()).toEqual([
      {
        symbol: 'AAPL',
        qty: '10',
        avgEntryPrice: '187.5',
        marketValue: '1875',
        currentPrice: '187.5',
        unrealizedPl: '0',
      },
      { symbol: 'TSLA', qty: '-3', avgEntryPrice: '250', marketValue: '-750', currentPrice: '250', unrealizedPl: '0' },
    ]);

    const closing = await alpaca.closePosition('AAPL', { qty: '4' });
    expect(closing).toMatchObject({ symbol: 'AAPL', side: 'sell', qty: '4', type: 'market' });
    expect(fake.requests('DELETE /v2/positions/:symbol')[0].query).toEqual({ qty: '4' });
    expect((await brokerError(alpaca.closePosition('NVDA'))).kind).toBe('not_found');

    expect(await alpaca.getAccount()).toMatchObject({ currency: 'USD', tradingBlocked: false });
    fake.setAccount({ trade_suspended_by_user: true });
    expect((await alpaca.getAccount()).tradingBlocked).toBe(true);
  });

  it('pages FILL activities oldest first with distinct ids and every field', async () => {
    const alpaca = client();
    fake.setFillBehaviour({ mode: 'manual' });
    const a = await alpaca.submitOrder(orderRequest('eg-f1', { qty: '3' }));
    const b = await alpaca.submitOrder(orderRequest('eg-f2', { symbol: 'MSFT', side: 'sell', qty: '3' }));
    fake.fill(a.id, '1', '100.10');
    fake.fill(b.id, '1', '400');
    fake.fill(a.id, '2', '100.30');
    fake.fill(b.id, '1', '401');
    fake.fill(b.id, '1', '402.5');

    const pages = [];
    let token: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await alpaca.listFills({ pageSize: 2, pageToken: token });
      pages.push(page);
      if (page.nextPageToken === null) break;
      token = page.nextPageToken;
    }
    expect(pages.map((p) => p.fills.length)).toEqual([2, 2, 1]);
    expect(pages.map((p) => p.nextPageToken === null)).toEqual([false, false, true]);
    const fills = pages.flatMap((p) => p.fills);
    expect(new Set(fills.map((f) => f.executionId)).size).toBe(5);
    expect(fills.map((f) => f.price)).toEqual(['100.1', '400', '100.3', '401', '402.5']);
    expect(fills[2]).toEqual({
      executionId: fake.activities()[2].id,
      brokerOrderId: a.id,
      symbol: 'AAPL',
      side: 'buy',
      qty: '2',
      price: '100.3',
      cumQty: '3',
      leavesQty: '0',
      transactionTime: expect.any(Date),
    });
    expect(fills[4]).toMatchObject({ side: 'sell', cumQty: '3', leavesQty: '0', brokerOrderId: b.id });
    const queries = fake.requests('GET /v2/account/activities').map((r) => r.query);
    expect(queries[0]).toEqual({ activity_types: 'FILL', direction: 'asc', page_size: '2' });
    expect(queries[1]).toEqual({
      activity_types: 'FILL',
      direction: 'asc',
      page_size: '2',
      page_token: pages[0].nextPageToken,
    });

    const after = await alpaca.listFills({
      after: new Date(Date.now() - 60_000),
      until: new Date(Date.now() + 60_000),
    });
    expect(after).toMatchObject({ nextPageToken: null });
    expect(after.fills).toHaveLength(5);
  });
});

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
