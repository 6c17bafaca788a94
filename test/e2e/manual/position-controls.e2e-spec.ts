import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { StateStore } from '../../../src/infra/state/state-store';
import { createKey } from '../../support/api-keys';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/**
 * Position close, adjust and flatten-all (docs/operator-controls.md#positions)
 * against the in-process sim exchange: reduce-only orders through the one
 * door, never more than the position, refused by the kill switch, passed by
 * the breaker.
 */
describe('position controls (e2e, sim)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;

  const post = (path: string, body: Record<string, unknown> = {}, as = auth) =>
    t.http.post(`/api/v1${path}`).set(as).send(body);
  const positionOf = async (symbol: string): Promise<string> => {
    const [row] = await t.db.query(`SELECT qty::text AS qty FROM positions WHERE symbol = $1`, [symbol]);
    return row ? String(Number(row.qty)) : '0';
  };
  const filled = (id: string) =>
    eventually(
      async () => (await t.db.query(`SELECT status FROM orders WHERE client_order_id = $1`, [id]))[0]?.status,
      (s) => s === 'filled',
    );
  /** A position built by a market order, once it is filled. */
  const open = async (symbol: string, qty: number): Promise<void> => {
    const res = await post('/orders', {
      symbol,
      side: qty > 0 ? 'buy' : 'sell',
      qty: Math.abs(qty),
      strategy_id: 'seed',
    });
    expect(res.status).toBe(201);
    expect(await filled(res.body.client_order_id)).toBe('filled');
    expect(
      await eventually(
        () => positionOf(symbol),
        (q) => q === String(qty),
      ),
    ).toBe(String(qty));
  };
  const brokerQty = async (ids: string[]): Promise<number> => {
    const all = await sim.listOrders({ status: 'all', limit: 500 });
    return all.filter((o) => ids.includes(o.clientOrderId)).reduce((s, o) => s + Number(o.qty), 0);
  };

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    t = await startTestApp({
      env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1', REDUCE_ONLY_LOCK_BLOCKING_SECONDS: '1' },
      broker: sim,
    });
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(async () => {
    await post('/kill-switch/disengage', { operator: 'jane' });
    await post('/circuit-breaker/reset', { operator: 'jane' });
  });

  it('closes a long with one reduce-only sell of the whole position, audited with the operator; then POSITION_FLAT', async () => {
    await open('PCLONG', 100);
    const res = await post('/positions/PCLONG/close', { reason: 'risk off', operator: 'jane.doe' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ symbol: 'PCLONG', side: 'sell', qty: 100, order_type: 'market' });
    const id = res.body.client_order_id as string;
    expect(id).toMatch(/^close-[0-9a-f]{20}$/);
    await filled(id);
    expect(
      await eventually(
        () => positionOf('PCLONG'),
        (q) => q === '0',
      ),
    ).toBe('0');
    const detail = (await t.http.get(`/api/v1/orders/${id}`).set(auth)).body;
    expect(detail.strategy_id).toBe('manual');
    expect(detail.metadata).toMatchObject({
      source: 'position_close',
      reason: 'risk off',
      operator: 'jane.doe',
      reduce_only: true,
    });
    const audit = await t.db.query(
      `SELECT actor, details FROM audit_log WHERE action = 'position.close' AND client_order_id = $1`,
      [id],
    );
    expect(audit).toEqual([
      { actor: 'jane.doe', details: expect.objectContaining({ api_key: 'admin', reason: 'risk off' }) },
    ]);

    const flat = await post('/positions/PCLONG/close');
    expect(flat.status).toBe(422);
    expect(flat.body.error).toBe('POSITION_FLAT');
  });

  it('closes part of a short with a buy; more than the position is CLOSE_EXCEEDS_POSITION; bad input names the field', async () => {
    await open('PCSHORT', -30);
    const over = await post('/positions/PCSHORT/close', { qty: 31 });
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({ error: 'CLOSE_EXCEEDS_POSITION', details: { position_qty: '-30', qty: '31' } });
    const bad = await post('/positions/PCSHORT/close', { qty: -1, order_type: 'stop', bogus: 1 });
    expect(bad.status).toBe(422);
    expect(bad.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'bogus',
      'order_type',
      'qty',
    ]);
    const badSymbol = await post('/positions/NOT%20VALID!/close');
    expect(badSymbol.status).toBe(422);

    const res = await post('/positions/PCSHORT/close', { qty: 10, operator: 'jane' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ side: 'buy', qty: 10 });
    await filled(res.body.client_order_id);
    expect(
      await eventually(
        () => positionOf('PCSHORT'),
        (q) => q === '-20',
      ),
    ).toBe('-20');
  });

  it('counts open orders on the closing side: the default close takes what is left, none left is 409 CLOSE_PENDING', async () => {
    await open('PCPEND', 10);
    // A resting sell far above the market: it stays open.
    const resting = await post('/orders', {
      symbol: 'PCPEND',
      side: 'sell',
      qty: 4,
      order_type: 'limit',
      limit_price: '100000',
    });
    expect(resting.status).toBe(201);
    const rest = await post('/positions/PCPEND/close');
    expect(rest.status).toBe(201);
    expect(rest.body.qty).toBe(6);
    const again = await post('/positions/PCPEND/close');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'CLOSE_PENDING', details: { closable_qty: '0' } });
  });

  it('two concurrent closes of one position never send more than the position', async () => {
    await open('PCRACE', 50);
    const [a, b] = await Promise.all([post('/positions/PCRACE/close'), post('/positions/PCRACE/close')]);
    const created = [a, b].filter((r) => r.status === 201);
    const refused = [a, b].filter((r) => r.status !== 201);
    expect(created).toHaveLength(1);
    expect(refused.map((r) => r.body.error)).toEqual([
      expect.stringMatching(/^(CLOSE_PENDING|POSITION_FLAT|POSITION_BUSY)$/),
    ]);
    expect(await brokerQty(created.map((r) => r.body.client_order_id))).toBe(50);
    await filled(created[0].body.client_order_id);
    expect(
      await eventually(
        () => positionOf('PCRACE'),
        (q) => q === '0',
      ),
    ).toBe('0');
  });

  it('a second close waits for the symbol lock, and past REDUCE_ONLY_LOCK_BLOCKING_SECONDS answers 409 POSITION_BUSY', async () => {
    await open('PCBUSY', 5);
    const store = t.app.get(StateStore);
    await store.set('reduce-only-lock:PCBUSY', 'someone-else', 10_000);
    const started = Date.now();
    const res = await post('/positions/PCBUSY/close');
    expect(res.status).toBe(409);
    expect(res.body.error).toBe('POSITION_BUSY');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await store.del('reduce-only-lock:PCBUSY');
    expect((await post('/positions/PCBUSY/close')).status).toBe(201);
  });

  it('passes a tripped circuit breaker (reduce-only), while an order adding exposure is refused', async () => {
    await open('PCBRK', 20);
    const trip = await post('/circuit-breaker/trip', { reason: 'test' });
    expect(trip.status).toBe(200);
    // No operator in the body: the calling key's name is recorded.
    expect(trip.body.tripped_by).toBe('admin');
    const add = await post('/orders', { symbol: 'PCBRK', side: 'buy', qty: 1 });
    expect(add.status).toBe(503);
    expect(add.body.error).toBe('CIRCUIT_BREAKER_TRIPPED');
    const res = await post('/positions/PCBRK/close', { reason: 'breaker tripped' });
    expect(res.status).toBe(201);
    await filled(res.body.client_order_id);
    expect(
      await eventually(
        () => positionOf('PCBRK'),
        (q) => q === '0',
      ),
    ).toBe('0');
  });

  it('is refused by the kill switch: 503 KILL_SWITCH_ENGAGED, nothing sent', async () => {
    await open('PCKILL', 7);
    expect((await post('/kill-switch/engage', { reason: 'halt', operator: 'jane' })).status).toBe(200);
    const res = await post('/positions/PCKILL/close');
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('KILL_SWITCH_ENGAGED');
    expect(await t.db.query(`SELECT 1 FROM orders WHERE symbol = 'PCKILL' AND strategy_id = 'manual'`)).toEqual([]);
  });

  it('an idempotency_key retry answers the same order (200), even after the position changed', async () => {
    await open('PCIDEM', 12);
    const first = await post('/positions/PCIDEM/close', { qty: 2, idempotency_key: 'retry-1' });
    expect(first.status).toBe(201);
    await filled(first.body.client_order_id);
    const retry = await post('/positions/PCIDEM/close', { qty: 2, idempotency_key: 'retry-1' });
    expect(retry.status).toBe(200);
    expect(retry.body.client_order_id).toBe(first.body.client_order_id);
    const fresh = await post('/positions/PCIDEM/close', { qty: 2 });
    expect(fresh.status).toBe(201);
    expect(fresh.body.client_order_id).not.toBe(first.body.client_order_id);
  });

  it('adjusts toward zero, away from zero, and refuses crossing zero and no change', async () => {
    await open('PCADJ', 100);
    const down = await post('/positions/PCADJ/adjust', { target_qty: 60, reason: 'trim' });
    expect(down.status).toBe(201);
    expect(down.body).toMatchObject({ side: 'sell', qty: 40 });
    await filled(down.body.client_order_id);
    expect(
      await eventually(
        () => positionOf('PCADJ'),
        (q) => q === '60',
      ),
    ).toBe('60');
    const up = await post('/positions/PCADJ/adjust', { target_qty: '70', strategy_id: 'desk' });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ side: 'buy', qty: 10 });
    await filled(up.body.client_order_id);
    expect(
      await eventually(
        () => positionOf('PCADJ'),
        (q) => q === '70',
      ),
    ).toBe('70');

    const cross = await post('/positions/PCADJ/adjust', { target_qty: -5 });
    expect(cross.status).toBe(422);
    expect(cross.body.error).toBe('ADJUST_CROSSES_ZERO');
    const same = await post('/positions/PCADJ/adjust', { target_qty: 70 });
    expect(same.status).toBe(422);
    expect(same.body.error).toBe('NO_CHANGE');
    const missing = await post('/positions/PCADJ/adjust', { target_qty: 1.5 });
    expect(missing.status).toBe(422);
    expect(missing.body.details.fields.map((f: { field: string }) => f.field)).toEqual(['target_qty']);
  });

  it('flatten-all names bad fields with 422 and does nothing', async () => {
    const res = await post('/positions/flatten-all', { bogus: 1, operator: ' ', strategy_id: 'no spaces' });
    expect(res.status).toBe(422);
    expect(res.body.details.fields.map((f: { field: string }) => f.field).sort()).toEqual([
      'bogus',
      'operator',
      'strategy_id',
    ]);
    expect(await t.db.query(`SELECT 1 FROM audit_log WHERE action = 'positions.flatten_all'`)).toEqual([]);
  });

  it('needs SUBMIT_ORDER and a key for every strategy', async () => {
    const scoped = await createKey(t, ['SUBMIT_ORDER', 'VIEW_ORDERS'], ['alpha']);
    const viewer = await createKey(t, ['VIEW_ORDERS']);
    for (const path of ['/positions/PCLONG/close', '/positions/PCLONG/adjust', '/positions/flatten-all']) {
      const body = path.endsWith('adjust') ? { target_qty: 0 } : {};
      const s = await post(path, body, scoped.auth);
      expect({ path, status: s.status, error: s.body.error }).toEqual({
        path,
        status: 403,
        error: 'STRATEGY_FORBIDDEN',
      });
      expect((await post(path, body, viewer.auth)).status).toBe(403);
    }
  });

  it('flatten-all cancels every open order first, then sends one order per position; the book ends flat', async () => {
    // Earlier tests' leftovers: start from a flat book.
    await post('/positions/flatten-all');
    await eventually(
      async () => (await t.db.query(`SELECT count(*)::int AS n FROM positions WHERE qty <> 0`))[0].n,
      (n) => n === 0,
    );
    await open('FLLONG', 15);
    await open('FLSHORT', -8);
    const resting = await post('/orders', {
      symbol: 'FLLONG',
      side: 'sell',
      qty: 5,
      order_type: 'limit',
      limit_price: '100000',
    });
    const other = await post('/orders', {
      symbol: 'FLOTHER',
      side: 'buy',
      qty: 3,
      order_type: 'limit',
      limit_price: '1',
    });
    expect([resting.status, other.status]).toEqual([201, 201]);

    const res = await post('/positions/flatten-all', { reason: 'end of day', operator: 'jane.doe' });
    expect(res.status).toBe(200);
    expect(res.body.canceled.sort()).toEqual([resting.body.client_order_id, other.body.client_order_id].sort());
    expect(res.body.failed).toEqual([]);
    const orders = res.body.orders as Array<{ symbol: string; side: string; qty: number; client_order_id: string }>;
    expect(orders.map((o) => [o.symbol, o.side, o.qty]).sort()).toEqual([
      ['FLLONG', 'sell', 15],
      ['FLSHORT', 'buy', 8],
    ]);
    for (const o of orders) await filled(o.client_order_id);
    expect(
      await eventually(
        () => positionOf('FLLONG'),
        (q) => q === '0',
      ),
    ).toBe('0');
    expect(
      await eventually(
        () => positionOf('FLSHORT'),
        (q) => q === '0',
      ),
    ).toBe('0');
    const [row] = await t.db.query(
      `SELECT actor, details FROM audit_log WHERE action = 'positions.flatten_all' ORDER BY id DESC LIMIT 1`,
    );
    expect(row.actor).toBe('jane.doe');
    expect(row.details.orders.sort()).toEqual(orders.map((o) => o.client_order_id).sort());
  });
});
