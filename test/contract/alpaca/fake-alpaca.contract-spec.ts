/**
 * Self-test of the fake Alpaca server with plain fetch and ws: it must speak
 * the wire format the adapter tests rely on.
 */
import WebSocket from 'ws';
import {
  FakeAlpacaServer,
  type WireFillActivity,
  type WireOrder,
  type WirePosition,
} from '../../support/fake-alpaca/fake-alpaca.server';

const fake = new FakeAlpacaServer();

function headers(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'APCA-API-KEY-ID': fake.keyId,
    'APCA-API-SECRET-KEY': fake.secretKey,
    'Content-Type': 'application/json',
    ...extra,
  };
}

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${fake.baseUrl}${path}`, {
    method,
    headers: headers(),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

function order(cid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    symbol: 'AAPL',
    qty: '10',
    side: 'buy',
    type: 'market',
    time_in_force: 'day',
    client_order_id: cid,
    ...extra,
  };
}

/** A stream client speaking the raw protocol; collects every frame it receives. */
async function openStream(): Promise<{ ws: WebSocket; frames: Array<Record<string, unknown>>; binary: boolean[] }> {
  const ws = new WebSocket(fake.streamUrl);
  const frames: Array<Record<string, unknown>> = [];
  const binary: boolean[] = [];
  ws.on('message', (data, isBinary) => {
    binary.push(isBinary);
    frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ action: 'authenticate', data: { key_id: fake.keyId, secret_key: fake.secretKey } }));
  ws.send(JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }));
  await waitFor(() => frames.some((f) => f.stream === 'listening'));
  return { ws, frames, binary };
}

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeAll(async () => {
  await fake.start();
});

afterAll(async () => {
  await fake.stop();
});

beforeEach(() => fake.reset());

describe('fake Alpaca server', () => {
  it('refuses wrong credentials with 401 {"message":"unauthorized"}', async () => {
    const res = await fetch(`${fake.baseUrl}/v2/account`, {
      headers: { 'APCA-API-KEY-ID': fake.keyId, 'APCA-API-SECRET-KEY': 'nope' },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: 'unauthorized' });
  });

  it('accepts an order in wire format, finds it by client_order_id, and never reuses the id', async () => {
    const created = await call('POST', '/v2/orders', order('c-1', { type: 'limit', limit_price: '150.50' }));
    expect(created.status).toBe(200);
    const o = created.json as WireOrder;
    expect(o).toMatchObject({
      client_order_id: 'c-1',
      symbol: 'AAPL',
      qty: '10',
      filled_qty: '0',
      filled_avg_price: null,
      limit_price: '150.5',
      status: 'new',
      type: 'limit',
      time_in_force: 'day',
    });
    expect(o.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(o.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

    const found = await call('GET', '/v2/orders:by_client_order_id?client_order_id=c-1');
    expect(found).toMatchObject({ status: 200, json: { id: o.id } });
    expect(await call('GET', '/v2/orders:by_client_order_id?client_order_id=nope')).toEqual({
      status: 404,
      json: { code: 40410000, message: 'order not found' },
    });

    expect((await call('DELETE', `/v2/orders/${o.id}`)).status).toBe(204);
    expect(await call('DELETE', `/v2/orders/${o.id}`)).toMatchObject({ status: 422 });
    expect(await call('POST', '/v2/orders', order('c-1'))).toEqual({
      status: 422,
      json: { code: 40010001, message: 'client_order_id must be unique' },
    });
    expect(fake.postOrderCount()).toBe(2);
    expect(fake.postOrderCount('c-1')).toBe(2);
  });

  it('validates required fields', async () => {
    expect(await call('POST', '/v2/orders', { symbol: 'AAPL', qty: '1', side: 'buy', type: 'market' })).toMatchObject({
      status: 422,
    });
    expect(await call('POST', '/v2/orders', order('c-2', { type: 'limit' }))).toMatchObject({
      status: 422,
      json: { message: 'limit_price is required' },
    });
    expect(fake.orders()).toHaveLength(0);
  });

  it('streams new then partial fills and a fill with distinct execution ids, as binary frames when asked', async () => {
    fake.setFrameMode('binary');
    const { ws, frames, binary } = await openStream();
    try {
      fake.setPrice('MSFT', '410.25');
      fake.setFillBehaviour({ mode: 'partial', steps: 3 }, 'MSFT');
      const created = await call('POST', '/v2/orders', order('c-3', { symbol: 'MSFT', qty: '10' }));
      await fake.whenIdle();
      await waitFor(() => frames.filter((f) => f.stream === 'trade_updates').length === 4);
      const updates = frames.filter((f) => f.stream === 'trade_updates').map((f) => f.data as Record<string, unknown>);
      expect(updates.map((u) => u.event)).toEqual(['new', 'partial_fill', 'partial_fill', 'fill']);
      expect(updates.slice(1).map((u) => u.qty)).toEqual(['3', '3', '4']);
      expect(new Set(updates.slice(1).map((u) => u.execution_id)).size).toBe(3);
      expect(updates[3]).toMatchObject({ price: '410.25', position_qty: '10' });
      expect((updates[3].order as WireOrder).filled_qty).toBe('10');
      expect(binary.every(Boolean)).toBe(true);
      expect(frames[0]).toEqual({ stream: 'authorization', data: { status: 'authorized', action: 'authenticate' } });

      const stored = fake.order((created.json as WireOrder).id)!;
      expect(stored).toMatchObject({ status: 'filled', filled_avg_price: '410.25' });
      const positions = (await call('GET', '/v2/positions')).json as WirePosition[];
      expect(positions).toEqual([expect.objectContaining({ symbol: 'MSFT', qty: '10', side: 'long' })]);

      fake.replayLastEvents(2);
      await waitFor(() => frames.filter((f) => f.stream === 'trade_updates').length === 6);
    } finally {
      ws.close();
    }
  });

  it('pages FILL activities with page_token, oldest first', async () => {
    fake.setFillBehaviour({ mode: 'manual' });
    const o = (await call('POST', '/v2/orders', order('c-4', { qty: '5' }))).json as WireOrder;
    for (let i = 0; i < 5; i++) fake.fill(o.id, '1', `${100 + i}`);
    const page1 = (await call('GET', '/v2/account/activities?activity_types=FILL&direction=asc&page_size=2'))
      .json as WireFillActivity[];
    const page2 = (
      await call(
        'GET',
        `/v2/account/activities?activity_types=FILL&direction=asc&page_size=2&page_token=${encodeURIComponent(page1[1].id)}`,
      )
    ).json as WireFillActivity[];
    expect(page1.map((a) => a.price)).toEqual(['100', '101']);
    expect(page2.map((a) => a.price)).toEqual(['102', '103']);
    expect(page2[1]).toMatchObject({ type: 'partial_fill', cum_qty: '4', leaves_qty: '1', order_id: o.id });
    const today = new Date().toISOString().slice(0, 10);
    const byDate = (await call('GET', `/v2/account/activities?date=${today}T00:00:00.000Z`)).json as unknown[];
    expect(byDate).toHaveLength(5);
  });

  it('injects faults: 429 with Retry-After, 403, dropped answer after accept', async () => {
    fake.failNext('POST /v2/orders', 1, { status: 429, retryAfterSeconds: 2 });
    const limited = await fetch(`${fake.baseUrl}/v2/orders`, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify(order('c-5')),
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');

    fake.rejectNext(1);
    expect(await call('POST', '/v2/orders', order('c-6'))).toEqual({
      status: 403,
      json: { code: 40310000, message: 'insufficient buying power' },
    });

    fake.dropResponseAfterAccept(1);
    await expect(call('POST', '/v2/orders', order('c-7'))).rejects.toThrow();
    expect(fake.orderByClientOrderId('c-7')).toMatchObject({ status: 'new' });
    expect(fake.orders()).toHaveLength(1);
    expect(fake.postOrderCount()).toBe(3);
  });

  it('replaces an order (new id, replaces / replaced_by) and cancels all with 207', async () => {
    const o = (await call('POST', '/v2/orders', order('c-8', { type: 'limit', limit_price: '1' }))).json as WireOrder;
    const r = await call('PATCH', `/v2/orders/${o.id}`, { limit_price: '2', client_order_id: 'c-8b' });
    expect(r.status).toBe(200);
    const n = r.json as WireOrder;
    expect(n).toMatchObject({ replaces: o.id, client_order_id: 'c-8b', limit_price: '2', status: 'new' });
    expect(fake.order(o.id)).toMatchObject({ status: 'replaced', replaced_by: n.id });
    const all = await call('DELETE', '/v2/orders');
    expect(all).toEqual({ status: 207, json: [{ id: n.id, status: 200 }] });
  });
});
