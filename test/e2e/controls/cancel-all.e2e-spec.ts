import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { createKey } from '../../support/api-keys';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/** POST /orders/cancel-all (docs/operator-controls.md#cancel-all) against the sim exchange. */
describe('cancel-all (e2e, sim)', () => {
  let t: TestApp;
  const post = (path: string, body: Record<string, unknown>, as = auth) =>
    t.http.post(`/api/v1${path}`).set(as).send(body);
  /** A resting limit order (never crossed), open at the broker. */
  const resting = async (symbol: string, side: 'buy' | 'sell', strategy: string): Promise<string> => {
    const res = await post('/orders', {
      symbol,
      side,
      qty: 1,
      order_type: 'limit',
      limit_price: side === 'buy' ? '1' : '100000',
      strategy_id: strategy,
    });
    expect(res.status).toBe(201);
    return res.body.client_order_id as string;
  };
  const statusOf = async (id: string) =>
    (await t.db.query(`SELECT status FROM orders WHERE client_order_id = $1`, [id]))[0].status as string;

  beforeAll(async () => {
    t = await startTestApp({
      env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1' },
      broker: new SimBrokerClient({ clock: new SystemClock() }),
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('cancels only what the filters select, audits the action once and each cancel', async () => {
    // A long to sell from (the exchange refuses a short sale here).
    const long = await post('/orders', { symbol: 'CAA', side: 'buy', qty: 5 });
    await eventually(
      () => statusOf(long.body.client_order_id),
      (s) => s === 'filled',
    );
    const buyA = await resting('CAA', 'buy', 'alpha');
    const sellA = await resting('CAA', 'sell', 'alpha');
    const buyB = await resting('CAB', 'buy', 'alpha');
    const res = await post('/orders/cancel-all', {
      symbol: 'CAA',
      side: 'buy',
      reason: 'venue incident',
      operator: 'jane',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ requested: 1, canceled: [buyA], failed: [] });
    expect(
      await eventually(
        () => statusOf(buyA),
        (s) => s === 'canceled',
      ),
    ).toBe('canceled');
    expect(await statusOf(sellA)).not.toMatch(/cancel/);
    expect(await statusOf(buyB)).not.toMatch(/cancel/);
    const [action] = await t.db.query(
      `SELECT actor, symbol, details FROM audit_log WHERE action = 'orders.cancel_all' ORDER BY id DESC LIMIT 1`,
    );
    expect(action).toMatchObject({
      actor: 'jane',
      symbol: 'CAA',
      details: { api_key: 'admin', reason: 'venue incident', requested: 1, canceled: [buyA] },
    });
    expect(
      await t.db.query(`SELECT actor FROM audit_log WHERE action = 'order.cancel_requested' AND client_order_id = $1`, [
        buyA,
      ]),
    ).toHaveLength(1);

    const rest = await post('/orders/cancel-all', {});
    expect(rest.status).toBe(200);
    expect(rest.body.canceled.sort()).toEqual([sellA, buyB].sort());
  });

  it('a scoped key cancels only its strategies; a key without CANCEL_ORDER is refused', async () => {
    const mine = await resting('CAS', 'buy', 'alpha');
    const theirs = await resting('CAS', 'buy', 'beta');
    const scoped = await createKey(t, ['CANCEL_ORDER'], ['alpha']);
    const viewer = await createKey(t, ['VIEW_ORDERS']);
    expect((await post('/orders/cancel-all', {}, viewer.auth)).status).toBe(403);
    const res = await post('/orders/cancel-all', {}, scoped.auth);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ requested: 1, canceled: [mine], failed: [] });
    expect(await statusOf(theirs)).not.toMatch(/cancel/);
    const [action] = await t.db.query(
      `SELECT actor FROM audit_log WHERE action = 'orders.cancel_all' ORDER BY id DESC LIMIT 1`,
    );
    expect(action.actor).toBe(scoped.name);
    await post('/orders/cancel-all', {});
  });

  it('is never refused by a gate: it works with the kill switch engaged and the breaker tripped', async () => {
    const id = await resting('CAK', 'buy', 'alpha');
    await post('/kill-switch/engage', { reason: 'halt', operator: 'jane' });
    await post('/circuit-breaker/trip', { reason: 'test' });
    try {
      const res = await post('/orders/cancel-all', { symbol: 'CAK' });
      expect(res.status).toBe(200);
      expect(res.body.canceled).toEqual([id]);
    } finally {
      await post('/kill-switch/disengage', { operator: 'jane' });
      await post('/circuit-breaker/reset', {});
    }
  });

  it('names bad fields with 422', async () => {
    const res = await post('/orders/cancel-all', { side: 'hold', symbol: 'no good!', extra: 1 });
    expect(res.status).toBe(422);
    expect(res.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual(['extra', 'side', 'symbol']);
  });
});
