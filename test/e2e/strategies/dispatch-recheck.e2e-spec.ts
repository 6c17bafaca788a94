import { BrokerClient } from '../../../src/broker/broker-client.port';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { OrderSyncService } from '../../../src/orders/jobs/order-sync.service';
import { DispatchOrderUseCase } from '../../../src/orders/use-cases/dispatch-order.use-case';
import { StrategyStateService } from '../../../src/strategies/strategy-state.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/**
 * The strategy state in the safety re-check right before the broker call
 * (docs/strategies-and-pnl.md#strategy-states): an order of a strategy halted
 * (or set reducing) between its insert and its dispatch is not sent.
 */
describe('strategy state re-checked before sending (e2e, sim)', () => {
  let t: TestApp;
  let sim: SimBrokerClient;
  const ctx = { actor: 'test', requestId: null };

  const atBroker = async (broker: BrokerClient, id: string): Promise<number> =>
    (await broker.listOrders({ status: 'all', limit: 500 })).filter((o) => o.clientOrderId === id).length;
  const row = async (id: string) =>
    (await t.db.query(`SELECT status, error_message FROM orders WHERE client_order_id = $1`, [id]))[0];
  const auditOf = (id: string) =>
    t.db.query(`SELECT action, reason_code FROM audit_log WHERE client_order_id = $1 ORDER BY id`, [id]);
  const setState = async (strategyId: string, state: 'active' | 'reducing' | 'halted', reason: string | null) => {
    const states = t.app.get(StrategyStateService);
    await states.setState(strategyId, { state, reason, operator: 'jane' }, ctx);
    await states.refresh();
  };
  /** Holds the next dispatch: `between` runs after the insert, before the dispatch's own checks. */
  const holdNextDispatch = (between: () => Promise<unknown>) => {
    const dispatcher = t.app.get(DispatchOrderUseCase);
    const real = dispatcher.dispatch.bind(dispatcher);
    jest.spyOn(dispatcher, 'dispatch').mockImplementationOnce(async (order) => {
      await between();
      return real(order);
    });
  };
  const order = (strategy: string, symbol: string, side: 'buy' | 'sell', qty: number) =>
    t.http.post('/api/v1/orders').set(auth).send({ symbol, side, qty, strategy_id: strategy });

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    t = await startTestApp({ env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1' }, broker: sim });
  });
  afterAll(async () => {
    await t?.close();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('halted between insert and dispatch: nothing sent, the order ends canceled (STRATEGY_HALTED), audited, 503', async () => {
    holdNextDispatch(() => setState('sx_halt', 'halted', 'late halt'));
    const res = await order('sx_halt', 'SXH', 'buy', 3);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({
      error: 'STRATEGY_HALTED',
      details: { status: 'canceled', client_order_id: expect.any(String), strategy_id: 'sx_halt' },
    });
    const id = res.body.details.client_order_id as string;
    expect(await row(id)).toMatchObject({ status: 'canceled' });
    expect(await atBroker(sim, id)).toBe(0);
    expect(await auditOf(id)).toEqual([
      { action: 'order.accepted', reason_code: null },
      { action: 'order.canceled', reason_code: 'STRATEGY_HALTED' },
    ]);
    // Other strategies are sent as before.
    const other = await order('sx_other', 'SXH', 'buy', 1);
    expect(other.status).toBe(201);
    expect(await atBroker(sim, other.body.client_order_id)).toBe(1);
  });

  it('reducing between insert and dispatch: an order adding exposure is not sent, a reduce-only one is', async () => {
    const long = await order('sx_red', 'SXR', 'buy', 4);
    expect(long.status).toBe(201);
    await eventually(
      async () => (await row(long.body.client_order_id)).status,
      (s) => s === 'filled',
    );
    holdNextDispatch(() => setState('sx_red', 'reducing', 'wind down'));
    const add = await order('sx_red', 'SXR', 'buy', 2);
    expect(add.status).toBe(503);
    expect(add.body).toMatchObject({ error: 'STRATEGY_REDUCING', details: { status: 'canceled' } });
    expect(await atBroker(sim, add.body.details.client_order_id)).toBe(0);

    await setState('sx_red', 'active', null);
    holdNextDispatch(() => setState('sx_red', 'reducing', 'wind down again'));
    const reduce = await order('sx_red', 'SXR', 'sell', 4);
    expect(reduce.status).toBe(201);
    expect(await atBroker(sim, reduce.body.client_order_id)).toBe(1);
  });

  it('the resolver re-checks too: an order left unsent (429) is not sent once its strategy is halted', async () => {
    sim.failNext('retryable', 1, { retryAfterMs: 50 });
    const res = await order('sx_resolve', 'SXS', 'buy', 1);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending_new');
    const id = res.body.client_order_id as string;
    await setState('sx_resolve', 'halted', 'halt');
    await new Promise((r) => setTimeout(r, 80));
    await t.app.get(OrderSyncService).tick();
    expect(
      await eventually(
        async () => (await row(id)).status,
        (s) => s === 'canceled',
      ),
    ).toBe('canceled');
    expect(await atBroker(sim, id)).toBe(0);
    expect((await auditOf(id)).map((a: { reason_code: string | null }) => a.reason_code)).toContain('STRATEGY_HALTED');
  });
});
