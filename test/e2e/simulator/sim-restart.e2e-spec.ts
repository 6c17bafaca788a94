/**
 * The sim broker's book survives a restart (docs/simulator.md#durability):
 * trade with DRY_RUN=false, restart the app on the same database, and the
 * restored sim agrees with the gateway — reconciliation finds nothing, nothing
 * is quarantined, a resting order still fills on a later price move, and a new
 * order is accepted.
 */
import { auth, startTestApp, TestApp } from '../../support/app';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { eventually } from '../../support/wait';

jest.setTimeout(60_000);

const LIVE = { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1', BROKER_SUBMIT_TIMEOUT_MS: '2000' };

describe('sim broker: durable across restarts (e2e)', () => {
  let database: TestDatabase;
  const apps: TestApp[] = [];

  const start = async (): Promise<TestApp> => {
    const t = await startTestApp({ env: LIVE, database });
    apps.push(t);
    return t;
  };
  const orderOf = async (t: TestApp, cid: string) => (await t.http.get(`/api/v1/orders/${cid}`).set(auth)).body;
  const filled = (t: TestApp, cid: string) =>
    eventually(
      () => orderOf(t, cid),
      (o) => o.status === 'filled',
    );

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const t of apps.splice(0)) await t.close().catch(() => undefined);
    await database.drop();
  });

  it('restores orders, fills and positions; reconciles clean; a resting order fills after the restart', async () => {
    const a = await start();
    const buy = await a.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'DURA', side: 'buy', qty: 10, client_order_id: 'dura-buy-1' });
    expect(buy.status).toBe(201);
    expect((await filled(a, 'dura-buy-1')).status).toBe('filled');
    const sell = await a.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'DURA', side: 'sell', qty: 4, client_order_id: 'dura-sell-1' });
    expect(sell.status).toBe(201);
    expect((await filled(a, 'dura-sell-1')).status).toBe('filled');
    // A limit below the market rests on the sim's book.
    const rest = await a.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'REST', side: 'buy', qty: 3, order_type: 'limit', limit_price: '95', client_order_id: 'rest-1' });
    expect(rest.status).toBe(201);
    const resting = await eventually(
      () => orderOf(a, 'rest-1'),
      (o) => o.status === 'new',
    );
    expect(resting.status).toBe('new');

    const stored = (await a.db.query(
      `SELECT (SELECT count(*) FROM sim_orders)::int AS orders, (SELECT count(*) FROM sim_fills)::int AS fills`,
    )) as Array<{ orders: number; fills: number }>;
    expect(stored[0]).toEqual({ orders: 3, fills: 2 });
    await a.close();
    apps.splice(apps.indexOf(a), 1);

    // The same database, a new process: the sim's book comes back from PostgreSQL.
    const b = await start();
    const run = await b.http.post('/api/v1/reconciliation/run').set(auth).send({});
    expect(run.status).toBe(200);
    const status = await b.http.get('/api/v1/reconciliation/status').set(auth);
    const open = (status.body.findings as Array<{ resolved_at: string | null }>).filter((f) => f.resolved_at === null);
    expect(open).toEqual([]);
    expect(status.body.blocked_symbols).toEqual([]);

    const positions = await b.http.get('/api/v1/positions').set(auth);
    expect(positions.status).toBe(200);
    const dura = (positions.body.positions ?? positions.body).find((p: { symbol: string }) => p.symbol === 'DURA');
    expect(dura).toMatchObject({ symbol: 'DURA', qty: '6' });

    // The client_order_id stays taken on the sim; the gateway answers its own duplicate.
    const again = await b.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'DURA', side: 'buy', qty: 1, client_order_id: 'dura-next-1' });
    expect(again.status).toBe(201);
    expect((await filled(b, 'dura-next-1')).status).toBe('filled');

    // The restored resting order is still live on the sim: a move through its limit fills it.
    const moved = await b.http.put('/api/v1/sim/prices/REST').set(auth).send({ price: '94.5', operator: 'jane.doe' });
    expect(moved.status).toBe(200);
    const done = await filled(b, 'rest-1');
    expect(done).toMatchObject({ status: 'filled', filled_qty: '3', filled_avg_price: '94.5' });

    const rerun = await b.http.post('/api/v1/reconciliation/run').set(auth).send({});
    expect(rerun.status).toBe(200);
    const after = await b.http.get('/api/v1/reconciliation/status').set(auth);
    expect((after.body.findings as Array<{ resolved_at: string | null }>).filter((f) => !f.resolved_at)).toEqual([]);
  });
});
