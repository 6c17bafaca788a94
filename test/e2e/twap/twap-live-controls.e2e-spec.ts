import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { ManualClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { StrategyStateService } from '../../../src/strategies/strategy-state.service';
import { TwapDispatcher } from '../../../src/twap/twap-dispatcher.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { eventually } from '../../support/wait';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

const SLICE = '/api/v1/orders/slice';

interface SliceBody {
  client_order_id: string;
  status: string;
  sent_qty: number | null;
  filled_qty: number;
  reason_code: string | null;
}
interface PlanBody {
  status: string;
  total_qty: number;
  sent_qty: number;
  filled_qty: number;
  shortfall_qty: number | null;
  slices: SliceBody[];
}

/**
 * A running plan under the operator's controls, against the fake Alpaca
 * (DRY_RUN=false) on a ManualClock: its strategy halted (slices blocked),
 * reducing (slices refused) and set active again (docs/twap.md#halted-strategy,
 * docs/strategies-and-pnl.md#strategy-states), and its
 * open children listed by GET /orders/pending?parent_order_id=.
 */
describe('TWAP plans under live controls (e2e)', () => {
  const fake = new FakeAlpacaServer();
  let clock: ManualClock;
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;
  let dispatcher: TwapDispatcher;
  let T0 = 0;

  beforeAll(async () => {
    await fake.start();
    clock = new ManualClock(new Date(Math.floor(Date.now() / 1000) * 1000));
    fake.setClock(() => clock.now());
    alpaca = alpacaClientOf(fake);
    t = await startTestApp({
      clock,
      broker: alpaca,
      marketData: new SimMarketDataProvider({ clock }),
      env: { DRY_RUN: 'false', RECONCILIATION_INTERVAL_SECONDS: '3600', ORDER_POLL_INTERVAL_SECONDS: '1' },
    });
    dispatcher = t.app.get(TwapDispatcher);
  });

  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    await fake.stop();
  });

  afterEach(() => expect(fake.internalErrors()).toEqual([]));

  async function start(body: Record<string, unknown>): Promise<string> {
    T0 = clock.now().getTime();
    const res = await t.http.post(SLICE).set(auth).send(body);
    if (res.status !== 201) throw new Error(`plan refused: ${res.status} ${res.text}`);
    return res.body.parent_order_id as string;
  }

  async function at(seconds: number): Promise<void> {
    clock.set(new Date(T0 + seconds * 1000));
    await dispatcher.tick();
  }

  async function plan(parent: string): Promise<PlanBody> {
    const res = await t.http.get(`/api/v1/orders/${parent}/slices`).set(auth);
    expect(res.status).toBe(200);
    return res.body as PlanBody;
  }

  function settled(parent: string): Promise<PlanBody> {
    return eventually(
      async () => {
        await dispatcher.tick();
        return plan(parent);
      },
      (p) => p.status === 'completed' || p.status === 'canceled',
      15_000,
    );
  }

  /** Filled, as the broker's stream reports it. */
  const filled = (parent: string, num: number) =>
    eventually(
      () => plan(parent),
      (p) => p.slices[num].status === 'filled',
    );

  async function setState(strategy: string, state: string): Promise<void> {
    const res = await t.http
      .put(`/api/v1/strategies/${strategy}/state`)
      .set(auth)
      .send({ state, reason: 'desk review', operator: 'jane' });
    expect(res.status).toBe(200);
    // Every replica enforces it within 1 s; this one re-reads now.
    await t.app.get(StrategyStateService).refresh();
  }

  async function auditOf(id: string): Promise<Array<{ action: string; reason_code: string }>> {
    return t.db.query(`SELECT action, reason_code FROM audit_log WHERE client_order_id = $1 ORDER BY id`, [id]);
  }

  /** The slice's order row: blocked by the halt, linked to its plan, never sent. */
  async function expectBlockedByHalt(parent: string, n: number): Promise<void> {
    const id = `${parent}-s${n}`;
    expect(fake.postOrderCount(id)).toBe(0);
    const rows = await t.db.query(
      `SELECT status, parent_order_id, slice_num, broker_order_id, submitted_at, error_message
         FROM orders WHERE client_order_id = $1`,
      [id],
    );
    expect(rows).toEqual([
      {
        status: 'blocked_strategy_halted',
        parent_order_id: parent,
        slice_num: n,
        broker_order_id: null,
        submitted_at: null,
        error_message: expect.stringContaining('is halted'),
      },
    ]);
    // Audited once, as a block with the halt's reason code (not as a plain refusal).
    expect(await auditOf(id)).toEqual([{ action: 'order.blocked', reason_code: 'STRATEGY_HALTED' }]);
    const [audit] = await t.db.query(`SELECT details FROM audit_log WHERE client_order_id = $1`, [id]);
    expect(audit.details).toMatchObject({ status: 'blocked_strategy_halted', parent_order_id: parent, slice_num: n });
    const events = await t.db.query(`SELECT event_type, status FROM order_events WHERE client_order_id = $1`, [id]);
    expect(events).toEqual([{ event_type: 'order.status', status: 'blocked_strategy_halted' }]);
    const child = await t.http.get(`/api/v1/orders/${id}`).set(auth);
    expect(child.body).toMatchObject({ status: 'blocked_strategy_halted', parent_order_id: parent, slice_num: n });
  }

  it('halted mid-plan: due slices are blocked (order rows blocked_strategy_halted, audited), their quantity goes to the first slice after it is active again', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'THA');
    const parent = await start({
      symbol: 'THA',
      side: 'buy',
      qty: 12,
      duration_minutes: 4,
      interval_seconds: 60,
      strategy_id: 'twap_halt_a',
    });
    await at(0);
    await filled(parent, 0);
    await setState('twap_halt_a', 'halted');
    await at(60);
    await at(120);
    const mid = await plan(parent);
    expect(mid.slices.map((s) => [s.status, s.sent_qty, s.reason_code])).toEqual([
      ['filled', 3, null],
      ['blocked_strategy_halted', null, 'STRATEGY_HALTED'],
      ['blocked_strategy_halted', null, 'STRATEGY_HALTED'],
      ['scheduled', null, null],
    ]);
    expect(mid).toMatchObject({ status: 'active', sent_qty: 3, filled_qty: 3 });
    for (const n of [1, 2]) await expectBlockedByHalt(parent, n);
    // A blocked order holds no exposure: the strategy's open-order counter counts none of them.
    const [counter] = await t.db.query(`SELECT open_orders FROM strategy_exposure WHERE strategy_id = $1`, [
      'twap_halt_a',
    ]);
    expect(counter?.open_orders ?? 0).toBe(0);

    await setState('twap_halt_a', 'active');
    await at(180);
    const p = await settled(parent);
    // The last slice takes its own 3 and the 6 the blocked slices released.
    expect(p.slices.map((s) => [s.status, s.sent_qty])).toEqual([
      ['filled', 3],
      ['blocked_strategy_halted', null],
      ['blocked_strategy_halted', null],
      ['filled', 9],
    ]);
    expect(p).toMatchObject({ status: 'completed', total_qty: 12, sent_qty: 12, filled_qty: 12, shortfall_qty: 0 });
    expect(fake.postOrderCount(`${parent}-s3`)).toBe(1);
    // The blocked slices stay blocked: their ids are taken, never sent later.
    for (const n of [1, 2]) expect(fake.postOrderCount(`${parent}-s${n}`)).toBe(0);
  });

  it('a plan ending while its strategy is halted reports the unsent quantity as its shortfall', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'THB');
    const parent = await start({
      symbol: 'THB',
      side: 'sell',
      qty: 9,
      duration_minutes: 3,
      interval_seconds: 60,
      strategy_id: 'twap_halt_b',
    });
    await at(0);
    await filled(parent, 0);
    await setState('twap_halt_b', 'halted');
    try {
      await at(60);
      await at(120);
      const p = await settled(parent);
      expect(p.slices.map((s) => [s.status, s.reason_code])).toEqual([
        ['filled', null],
        ['blocked_strategy_halted', 'STRATEGY_HALTED'],
        ['blocked_strategy_halted', 'STRATEGY_HALTED'],
      ]);
      expect(p).toMatchObject({ status: 'completed', sent_qty: 3, filled_qty: 3, shortfall_qty: 6 });
      const audit = await t.db.query(
        `SELECT reason_code, details FROM audit_log WHERE action = 'twap.completed' AND client_order_id = $1`,
        [parent],
      );
      expect(audit).toEqual([
        { reason_code: 'TWAP_SHORTFALL', details: { total_qty: 9, filled_qty: 3, shortfall_qty: 6 } },
      ]);
      for (const n of [1, 2]) await expectBlockedByHalt(parent, n);
    } finally {
      await setState('twap_halt_b', 'active');
    }
  });

  it('reducing: a slice that would add exposure is refused (STRATEGY_REDUCING), no order row, its quantity carried', async () => {
    fake.setFillBehaviour({ mode: 'instant' }, 'THR');
    const parent = await start({
      symbol: 'THR',
      side: 'buy',
      qty: 6,
      duration_minutes: 3,
      interval_seconds: 60,
      strategy_id: 'twap_reduce_a',
    });
    await at(0);
    await filled(parent, 0);
    await setState('twap_reduce_a', 'reducing');
    try {
      // Long 2 THR: another buy adds exposure.
      await at(60);
      const mid = await plan(parent);
      expect(mid.slices.map((s) => [s.status, s.reason_code])).toEqual([
        ['filled', null],
        ['refused', 'STRATEGY_REDUCING'],
        ['scheduled', null],
      ]);
      const id = `${parent}-s1`;
      expect(fake.postOrderCount(id)).toBe(0);
      // Refused at the door like any order of a reducing strategy: audited, no order row.
      expect(await auditOf(id)).toEqual([{ action: 'order.rejected', reason_code: 'STRATEGY_REDUCING' }]);
      expect(await t.db.query(`SELECT 1 FROM orders WHERE client_order_id = $1`, [id])).toHaveLength(0);
    } finally {
      await setState('twap_reduce_a', 'active');
    }
    await at(120);
    const p = await settled(parent);
    expect(p.slices.map((s) => [s.status, s.sent_qty])).toEqual([
      ['filled', 2],
      ['refused', null],
      ['filled', 4],
    ]);
    expect(p).toMatchObject({ status: 'completed', sent_qty: 6, filled_qty: 6, shortfall_qty: 0 });
  });

  it("GET /orders/pending?parent_order_id= lists a running plan's open children, and only them", async () => {
    fake.setFillBehaviour({ mode: 'never' }, 'TPO');
    fake.setFillBehaviour({ mode: 'never' }, 'TPX');
    const other = await start({ symbol: 'TPX', side: 'buy', qty: 2, duration_minutes: 1, interval_seconds: 60 });
    await at(0);
    const parent = await start({ symbol: 'TPO', side: 'buy', qty: 6, duration_minutes: 3, interval_seconds: 60 });
    await at(0);
    await at(60);
    const pending = () => t.http.get('/api/v1/orders/pending').query({ parent_order_id: parent }).set(auth);
    const res = await eventually(pending, (r) => r.body.total === 2);
    expect(res.status).toBe(200);
    expect(
      res.body.orders.map((o: Record<string, unknown>) => [
        o.client_order_id,
        o.status,
        o.parent_order_id,
        o.slice_num,
      ]),
    ).toEqual([
      [`${parent}-s0`, 'new', parent, 0],
      [`${parent}-s1`, 'new', parent, 1],
    ]);
    // The other plan's open child is not listed; it is under its own parent.
    const others = await t.http.get('/api/v1/orders/pending').query({ parent_order_id: other }).set(auth);
    expect(others.body.orders.map((o: { client_order_id: string }) => o.client_order_id)).toEqual([`${other}-s0`]);
    // Ending the plan cancels its open children: none is pending any more.
    expect((await t.http.delete(`/api/v1/orders/${parent}/slices`).set(auth)).status).toBe(200);
    await eventually(pending, (r) => r.body.total === 0);
    await t.http.delete(`/api/v1/orders/${other}/slices`).set(auth);
  });
});
