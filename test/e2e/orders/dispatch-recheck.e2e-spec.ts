import { BrokerClient } from '../../../src/broker/broker-client.port';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { OrderSyncService } from '../../../src/orders/jobs/order-sync.service';
import { DispatchOrderUseCase } from '../../../src/orders/use-cases/dispatch-order.use-case';
import { CircuitBreakerService } from '../../../src/risk/circuit-breaker/circuit-breaker.service';
import { KillSwitchService } from '../../../src/risk/kill-switch/kill-switch.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/**
 * The safety re-check right before the broker call
 * (docs/risk-and-safety.md#the-safety-re-check-before-sending): an order
 * written ahead while the kill switch or the breaker engaged is never sent.
 */
describe('safety re-check before sending (e2e, sim)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;
  const ctx = { actor: 'test', requestId: null };

  const atBroker = async (broker: BrokerClient, id: string): Promise<number> =>
    (await broker.listOrders({ status: 'all', limit: 500 })).filter((o) => o.clientOrderId === id).length;
  const row = async (id: string) =>
    (await t.db.query(`SELECT status, error_message FROM orders WHERE client_order_id = $1`, [id]))[0];
  const auditOf = (id: string) =>
    t.db.query(`SELECT action, reason_code FROM audit_log WHERE client_order_id = $1 ORDER BY id`, [id]);
  /** Holds the next dispatch: `between` runs after the insert, before the dispatch's own checks. */
  const holdNextDispatch = (between: () => Promise<unknown>) => {
    const dispatcher = t.app.get(DispatchOrderUseCase);
    const real = dispatcher.dispatch.bind(dispatcher);
    jest.spyOn(dispatcher, 'dispatch').mockImplementationOnce(async (order) => {
      await between();
      return real(order);
    });
  };

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    t = await startTestApp({ env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1' }, broker: sim });
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'jane' });
    await t.http.post('/api/v1/circuit-breaker/reset').set(auth).send({});
  });

  it('the kill switch engaged between insert and dispatch: nothing sent, blocked_kill_switch, audited, 503', async () => {
    holdNextDispatch(() =>
      t.app.get(KillSwitchService).engage({ operator: 'jane', reason: 'late halt', details: null }, ctx),
    );
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RCK', side: 'buy', qty: 3 });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      error: 'KILL_SWITCH_ENGAGED',
      details: { status: 'blocked_kill_switch', client_order_id: expect.any(String) },
    });
    const id = res.body.details.client_order_id as string;
    expect(await row(id)).toMatchObject({ status: 'blocked_kill_switch' });
    expect(await atBroker(sim, id)).toBe(0);
    expect(await auditOf(id)).toEqual([
      { action: 'order.accepted', reason_code: null },
      { action: 'order.blocked', reason_code: 'KILL_SWITCH_ENGAGED' },
    ]);
    // A retry is answered with the blocked order, never sent.
    const retry = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RCK', side: 'buy', qty: 3 });
    expect([retry.status, retry.body.status]).toEqual([200, 'blocked_kill_switch']);
    expect(await atBroker(sim, id)).toBe(0);
  });

  it('the breaker tripped between insert and dispatch blocks an order adding exposure, never a reduce-only one', async () => {
    const trip = () => t.app.get(CircuitBreakerService).trip({ operator: 'jane', reason: 'late trip' }, ctx);
    holdNextDispatch(trip);
    const add = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RCB', side: 'buy', qty: 2 });
    expect(add.status).toBe(503);
    expect(add.body).toMatchObject({
      error: 'CIRCUIT_BREAKER_TRIPPED',
      details: { status: 'blocked_circuit_breaker' },
    });
    expect(await atBroker(sim, add.body.details.client_order_id)).toBe(0);
    await t.http.post('/api/v1/circuit-breaker/reset').set(auth).send({});

    // A long to reduce, then a reduce-only sell while the breaker trips: it is sent.
    const long = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RCB', side: 'buy', qty: 4 });
    expect(long.status).toBe(201);
    await eventually(
      async () => (await row(long.body.client_order_id)).status,
      (s) => s === 'filled',
    );
    holdNextDispatch(trip);
    const reduce = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RCB', side: 'sell', qty: 4 });
    expect(reduce.status).toBe(201);
    expect(await atBroker(sim, reduce.body.client_order_id)).toBe(1);
  });

  it('the resolver re-checks too: an order left unsent (429) is blocked, not sent, once the kill switch engaged', async () => {
    sim.failNext('retryable', 1, { retryAfterMs: 50 });
    const res = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'RCR', side: 'buy', qty: 1 });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending_new');
    const id = res.body.client_order_id as string;
    await t.app.get(KillSwitchService).engage({ operator: 'jane', reason: 'halt', details: null }, ctx);
    await new Promise((r) => setTimeout(r, 80));
    await t.app.get(OrderSyncService).tick();
    expect(
      await eventually(
        async () => (await row(id)).status,
        (s) => s === 'blocked_kill_switch',
      ),
    ).toBe('blocked_kill_switch');
    expect(await atBroker(sim, id)).toBe(0);
  });
});
