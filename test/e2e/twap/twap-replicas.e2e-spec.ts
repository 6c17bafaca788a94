import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { ManualClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { OrderCommand } from '../../../src/order-entry/order-command';
import { SubmitOrderUseCase } from '../../../src/order-entry/submit-order.use-case';
import { TWAP_PRINCIPAL, TwapDispatcher } from '../../../src/twap/twap-dispatcher.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { eventually } from '../../support/wait';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

const SLICE = '/api/v1/orders/slice';

/** Each slice once, whatever the replicas and restarts: two apps on one database, and an app restarted mid-plan. */
describe('TWAP dispatch across replicas and restarts (e2e)', () => {
  const fake = new FakeAlpacaServer();
  const clock = new ManualClock(new Date(Math.floor(Date.now() / 1000) * 1000));
  const market = new SimMarketDataProvider({ clock });
  let database: TestDatabase;
  const apps: Array<{ t: TestApp; broker: AlpacaBrokerClient }> = [];

  async function replica(env: Record<string, string> = {}): Promise<{ t: TestApp; dispatcher: TwapDispatcher }> {
    const broker = alpacaClientOf(fake);
    const t = await startTestApp({
      clock,
      broker,
      marketData: market,
      database,
      env: {
        DRY_RUN: 'false',
        RECONCILIATION_INTERVAL_SECONDS: '3600',
        ORDER_POLL_INTERVAL_SECONDS: '1',
        DATABASE_POOL_SIZE: '5',
        ...env,
      },
    });
    apps.push({ t, broker });
    return { t, dispatcher: t.app.get(TwapDispatcher) };
  }

  async function stop(t: TestApp): Promise<void> {
    const i = apps.findIndex((a) => a.t === t);
    const [a] = apps.splice(i, 1);
    await a.t.close();
    await a.broker.disconnect();
  }

  beforeAll(async () => {
    await fake.start();
    fake.setClock(() => clock.now());
    fake.setFillBehaviour({ mode: 'instant' });
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const a of [...apps]) await stop(a.t);
    await database?.drop();
    await fake.stop();
  });

  /** Counts the slices a replica's dispatcher puts through its order-entry door, by id. */
  function doorCalls(t: TestApp): string[] {
    const calls: string[] = [];
    const door = t.app.get(SubmitOrderUseCase);
    const original = door.execute.bind(door);
    jest.spyOn(door, 'execute').mockImplementation((cmd, principal, ctx) => {
      if (principal === TWAP_PRINCIPAL && cmd.clientOrderId) calls.push(cmd.clientOrderId);
      return original(cmd, principal, ctx);
    });
    return calls;
  }

  it('two replicas on one database: every slice is claimed and sent by exactly one of them', async () => {
    const a = await replica();
    const b = await replica();
    const byA = doorCalls(a.t);
    const byB = doorCalls(b.t);
    const T0 = clock.now().getTime();
    const parents: string[] = [];
    for (let i = 0; i < 20; i++) {
      const via = i % 2 ? a.t : b.t;
      const res = await via.http
        .post(SLICE)
        .set(auth)
        .send({ symbol: `RP${i}`, side: 'buy', qty: 7 + i, duration_minutes: 2, interval_seconds: 30 });
      expect(res.status).toBe(201);
      parents.push(res.body.parent_order_id as string);
    }
    for (const s of [0, 30, 60, 90]) {
      clock.set(new Date(T0 + s * 1000));
      await Promise.all([a.dispatcher.tick(), b.dispatcher.tick(), a.dispatcher.tick(), b.dispatcher.tick()]);
    }
    const ids = parents.flatMap((p) => [0, 1, 2, 3].map((n) => `${p}-s${n}`));
    for (const id of ids) expect(fake.postOrderCount(id)).toBe(1);
    // Claimed once: each slice went through one replica's door, once.
    expect([...byA, ...byB].sort()).toEqual([...ids].sort());
    const plans = await eventually(
      async (): Promise<Array<{ status: string; shortfall_qty: number }>> => {
        await Promise.all([a.dispatcher.tick(), b.dispatcher.tick()]);
        return a.t.db.query(`SELECT status, total_qty, shortfall_qty FROM twap_plans`);
      },
      (rows) => rows.every((r) => r.status === 'completed'),
      15_000,
    );
    expect(plans.every((r) => r.shortfall_qty === 0)).toBe(true);
    const filled = await a.t.db.query(
      `SELECT p.parent_order_id, p.total_qty, sum(o.filled_qty)::int AS filled
         FROM twap_plans p JOIN orders o ON o.parent_order_id = p.parent_order_id GROUP BY 1, 2`,
    );
    expect(filled).toHaveLength(20);
    for (const r of filled) expect(r.filled).toBe(r.total_qty);
    await stop(a.t);
    await stop(b.t);
  });

  it('restart mid-plan: a claim the crashed replica left is sent once, an order it wrote is not sent again', async () => {
    const first = await replica();
    const T0 = clock.now().getTime();
    const res = await first.t.http
      .post(SLICE)
      .set(auth)
      .send({ symbol: 'RST', side: 'buy', qty: 20, duration_minutes: 5, interval_seconds: 60 });
    const parent = res.body.parent_order_id as string;
    for (const s of [0, 60]) {
      clock.set(new Date(T0 + s * 1000));
      await first.dispatcher.tick();
    }
    // The replica claims slice 2 on time and hangs; at 180 it claims slice 3, the order-entry door writes
    // (and sends) its order, and the replica dies before marking the slice sent.
    await first.t.db.query(
      `UPDATE twap_slices SET state = 'sending', sent_qty = planned_qty, claimed_at = $2
        WHERE parent_order_id = $1 AND slice_num = 2`,
      [parent, new Date(T0 + 120_000)],
    );
    clock.set(new Date(T0 + 180_000));
    await first.t.db.query(
      `UPDATE twap_slices SET state = 'sending', sent_qty = planned_qty, claimed_at = $2
        WHERE parent_order_id = $1 AND slice_num = 3`,
      [parent, new Date(T0 + 180_000)],
    );
    const sent = await first.t.app.get(SubmitOrderUseCase).execute(
      OrderCommand.forSlice({
        symbol: 'RST',
        side: 'buy',
        qty: 4,
        strategy_id: 'alpha_baseline',
        client_order_id: `${parent}-s3`,
      }),
      TWAP_PRINCIPAL,
      { actor: 'system' },
      { slice: { parentOrderId: parent, sliceNum: 3, totalSlices: 5, scheduledTime: new Date(T0 + 180_000) } },
    );
    expect(sent.created).toBe(true);
    expect(sent.order).toMatchObject({ parentOrderId: parent, sliceNum: 3 });
    await stop(first.t);

    // Back at 215 s, with a grace of 120 s: both claims are stale (over 30 s old) and within the grace, so
    // they are taken up again through the door: slice 2 is sent (95 s late), slice 3's order is found, not resent.
    clock.set(new Date(T0 + 215_000));
    const second = await replica({ SLICE_MISFIRE_GRACE_SECONDS: '120' });
    await second.dispatcher.tick();
    clock.set(new Date(T0 + 240_000));
    await second.dispatcher.tick();
    type Plan = { status: string; filled_qty: number; slices: Array<{ status: string; sent_qty: number }> };
    const plan = await eventually(
      async (): Promise<Plan> => {
        await second.dispatcher.tick();
        return (await second.t.http.get(`/api/v1/orders/${parent}/slices`).set(auth)).body as Plan;
      },
      (p) => p.status === 'completed',
      15_000,
    );
    expect(plan.slices.map((s) => [s.status, s.sent_qty])).toEqual([
      ['filled', 4],
      ['filled', 4],
      ['filled', 4],
      ['filled', 4],
      ['filled', 4],
    ]);
    expect(plan.filled_qty).toBe(20);
    for (let n = 0; n < 5; n++) expect(fake.postOrderCount(`${parent}-s${n}`)).toBe(1);
    await stop(second.t);
  });

  it('restart mid-plan past the grace: an unsent claim expires (audited) and its quantity goes to the next slice', async () => {
    const first = await replica();
    const T0 = clock.now().getTime();
    const res = await first.t.http
      .post(SLICE)
      .set(auth)
      .send({ symbol: 'RSX', side: 'buy', qty: 9, duration_minutes: 3, interval_seconds: 60 });
    const parent = res.body.parent_order_id as string;
    clock.set(new Date(T0));
    await first.dispatcher.tick();
    // Claims slice 1 on time, then dies before sending it.
    await first.t.db.query(
      `UPDATE twap_slices SET state = 'sending', sent_qty = planned_qty, claimed_at = $2
        WHERE parent_order_id = $1 AND slice_num = 1`,
      [parent, new Date(T0 + 60_000)],
    );
    await stop(first.t);

    // Back at 125 s: slice 1 is 65 s late (grace 60 s) with no order: expired; slice 2 (due 120) takes its 3 shares.
    clock.set(new Date(T0 + 125_000));
    const second = await replica();
    await second.dispatcher.tick();
    type Plan = { status: string; filled_qty: number; slices: Array<{ status: string; sent_qty: number | null }> };
    const plan = await eventually(
      async (): Promise<Plan> => {
        await second.dispatcher.tick();
        return (await second.t.http.get(`/api/v1/orders/${parent}/slices`).set(auth)).body as Plan;
      },
      (p) => p.status === 'completed',
      15_000,
    );
    expect(plan.slices.map((s) => [s.status, s.sent_qty])).toEqual([
      ['filled', 3],
      ['expired', null],
      ['filled', 6],
    ]);
    expect(plan.filled_qty).toBe(9);
    expect(fake.postOrderCount(`${parent}-s1`)).toBe(0);
    const audit = await second.t.db.query(
      `SELECT details FROM audit_log WHERE action = 'twap.slice_expired' AND client_order_id = $1`,
      [`${parent}-s1`],
    );
    expect(audit).toHaveLength(1);
    expect(audit[0].details).toMatchObject({ late_ms: 65_000 });
  });
});
