/**
 * PATCH /api/v1/orders/{client_order_id} and the pre-trade checks (docs/order-lifecycle.md#replacing-an-order):
 * the new terms are judged without the old order's open quantity, a replacement in flight counts once
 * with the order it replaces, and under the kill switch only a replace that takes risk off passes.
 */
import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { auth, startTestApp, TestApp } from '../../support/app';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { eventually } from '../../support/wait';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

jest.setTimeout(60_000);

type Detail = Record<string, unknown> & { status: string; client_order_id: string };

describe('PATCH /orders/{id}: pre-trade checks on the new terms (e2e, fake Alpaca)', () => {
  const fake = new FakeAlpacaServer();
  const market = new SimMarketDataProvider({ clock: new SystemClock() });
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    alpaca = alpacaClientOf(fake, { submitTimeoutMs: 5000, requestTimeoutMs: 5000 });
    t = await startTestApp({
      broker: alpaca,
      marketData: market,
      env: {
        DRY_RUN: 'false',
        RECONCILIATION_INTERVAL_SECONDS: '3600',
        ORDER_POLL_INTERVAL_SECONDS: '1',
        MAX_POSITION_SIZE: '10',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    await fake.stop();
  });

  const detail = async (id: string): Promise<Detail> => (await t.http.get(`/api/v1/orders/${id}`).set(auth)).body;
  const patch = (id: string, body: Record<string, unknown>) =>
    t.http.patch(`/api/v1/orders/${id}`).set(auth).send(body);
  const rest = async (id: string, symbol: string, qty: number) => {
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol, side: 'buy', qty, order_type: 'limit', limit_price: '1', client_order_id: id });
    expect(res.status).toBe(201);
    await eventually(
      () => detail(id),
      (o) => o.status === 'new',
    );
  };

  it("judges the new terms without the old order's open quantity (no double count), and refuses what breaks a limit", async () => {
    await rest('rk-1', 'RKA', 8);
    // 9 alone is under the limit of 10; counted beside the 8 it replaces it would be 17.
    const up = await patch('rk-1', { qty: 9 });
    expect(up.status).toBe(200);
    const over = await patch('rk-1-r1', { qty: 11 });
    expect(over.status).toBe(422);
    expect(over.body.error).toBe('MAX_POSITION_SIZE');
    expect(await t.db.query('SELECT 1 FROM orders WHERE replaces = $1', ['rk-1-r1'])).toHaveLength(0);
    const audit = await t.db.query(
      `SELECT reason_code FROM audit_log WHERE action = 'order.rejected' AND client_order_id = 'rk-1-r2'`,
    );
    expect(audit).toEqual([{ reason_code: 'MAX_POSITION_SIZE' }]);
  });

  it('a replacement in flight and its old order count once: the larger of the two open quantities', async () => {
    await rest('rk-2', 'RKB', 6);
    fake.delayResponse(1500, { route: 'PATCH /v2/orders/:id', count: 1, before: true });
    // A supertest request is sent when it is awaited: `then` sends it now.
    const inFlight = patch('rk-2', { qty: 7 }).then((r) => r);
    const seen = await eventually(
      () => detail('rk-2-r1'),
      (o) => o.status === 'pending_new',
    );
    expect(seen.status).toBe('pending_new');
    // Open buys now count 7 (not 6 + 7): 3 more fit under 10, 4 do not.
    const four = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'RKB', side: 'buy', qty: 4, order_type: 'limit', limit_price: '1' });
    expect(four.status).toBe(422);
    expect(four.body.error).toBe('MAX_POSITION_SIZE');
    const three = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'RKB', side: 'buy', qty: 3, order_type: 'limit', limit_price: '1' });
    expect(three.status).toBe(201);
    expect((await inFlight).status).toBe(200);
  });

  it('under the kill switch a replace that only takes risk off passes; one that adds risk is refused', async () => {
    await rest('rk-3', 'RKC', 5);
    expect(
      (await t.http.post('/api/v1/kill-switch/engage').set(auth).send({ reason: 'test', operator: 'jane' })).status,
    ).toBe(200);
    try {
      const less = await patch('rk-3', { qty: 4, limit_price: '0.9' });
      expect(less.status).toBe(200);
      const more = await patch('rk-3-r1', { qty: 5 });
      expect(more.status).toBe(503);
      expect(more.body.error).toBe('KILL_SWITCH_ENGAGED');
      const nearer = await patch('rk-3-r1', { limit_price: '1' });
      expect(nearer.status).toBe(503);
      expect(await t.db.query('SELECT 1 FROM orders WHERE replaces = $1', ['rk-3-r1'])).toHaveLength(0);
    } finally {
      await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'jane' });
    }
  });
});
