/**
 * The exposure counters the live pre-trade limits judge
 * (docs/risk-and-safety.md#how-limits-stay-atomic), on two replicas sharing one
 * database and the sim broker: a strategy-wide limit stays atomic across
 * replicas while orders of the strategy in other symbols do not queue behind
 * each other; an order admitted on the committed counters whose exposure
 * moves before its guarded insert is judged again under the row's lock (and
 * refused here); fills, cancels and broker rejections move the counters in the
 * transaction of the change, so they always equal a recount from the orders
 * and positions; the recount at start corrects a counter written past the
 * triggers.
 */
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { ExposureCountersService } from '../../../src/orders/jobs/exposure-counters.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

const LIVE = { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1', BROKER_SUBMIT_TIMEOUT_MS: '2000' };

/** Counter rows that differ from a recount of the orders and positions (empty when they agree). */
async function drift(t: TestApp): Promise<unknown[]> {
  const symbols = await t.db.query(`
    WITH x AS (
      SELECT symbol, SUM(p) AS p, SUM(b) AS b, SUM(s) AS s FROM (
        SELECT symbol, qty AS p, 0 AS b, 0 AS s FROM positions
        UNION ALL
        SELECT symbol, 0, CASE WHEN side = 'buy' THEN qty - filled_qty ELSE 0 END,
          CASE WHEN side = 'sell' THEN qty - filled_qty ELSE 0 END
        FROM orders WHERE status NOT IN ('filled', 'canceled', 'rejected', 'expired', 'replaced', 'dry_run', 'failed',
          'blocked_kill_switch', 'blocked_circuit_breaker', 'blocked_strategy_halted')
      ) u GROUP BY symbol)
    SELECT COALESCE(e.symbol, x.symbol) AS symbol, e.position_qty::text AS pos, x.p::text AS want_pos,
      e.open_buy_qty::text AS buy, x.b::text AS want_buy, e.open_sell_qty::text AS sell, x.s::text AS want_sell
    FROM symbol_exposure e FULL JOIN x ON x.symbol = e.symbol
    WHERE COALESCE(e.position_qty, 0) <> COALESCE(x.p, 0) OR COALESCE(e.open_buy_qty, 0) <> COALESCE(x.b, 0)
      OR COALESCE(e.open_sell_qty, 0) <> COALESCE(x.s, 0)`);
  const strategies = await t.db.query(`
    WITH x AS (SELECT strategy_id, COUNT(*)::int AS n FROM orders
      WHERE status NOT IN ('filled', 'canceled', 'rejected', 'expired', 'replaced', 'dry_run', 'failed',
        'blocked_kill_switch', 'blocked_circuit_breaker', 'blocked_strategy_halted') GROUP BY strategy_id)
    SELECT COALESCE(e.strategy_id, x.strategy_id) AS strategy_id, e.open_orders, x.n
    FROM strategy_exposure e FULL JOIN x ON x.strategy_id = e.strategy_id
    WHERE COALESCE(e.open_orders, 0) <> COALESCE(x.n, 0)`);
  return [...symbols, ...strategies];
}

describe('exposure counters: two replicas (e2e, sim broker)', () => {
  let a: TestApp;
  let b: TestApp;
  let simA: SimBrokerClient;

  beforeAll(async () => {
    const env = { ...LIVE, MAX_POSITION_SIZE: '1000', MAX_OPEN_ORDERS_PER_STRATEGY: '5' };
    simA = new SimBrokerClient({ clock: new SystemClock() });
    a = await startTestApp({ env, broker: simA });
    b = await startTestApp({ env, broker: new SimBrokerClient({ clock: new SystemClock() }), database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const send = (t: TestApp, body: Record<string, unknown>) => t.http.post('/api/v1/orders').set(auth).send(body);
  const resting = (symbol: string, strategy: string, key: string) => ({
    symbol,
    side: 'buy',
    qty: 1,
    order_type: 'limit',
    limit_price: '1',
    strategy_id: strategy,
    idempotency_key: key,
  });

  it('12 concurrent orders of one strategy in 12 symbols, half to each replica, against MAX_OPEN_ORDERS_PER_STRATEGY 5: exactly 5 pass', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(i % 2 ? a : b, resting(`SPR${i}`, 'spread', `s${i}`))),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    const refused = results.filter((r) => r.status === 422);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect(r.body.error).toBe('MAX_OPEN_ORDERS');
    const [{ n }] = await a.db.query(`SELECT open_orders AS n FROM strategy_exposure WHERE strategy_id = 'spread'`);
    expect(n).toBe(5);
    // A refused order rolled its count back: no row of it, nothing counted for its symbol.
    const [{ rows }] = await a.db.query(`SELECT COUNT(*)::int AS rows FROM orders WHERE strategy_id = 'spread'`);
    expect(rows).toBe(5);
    expect(await drift(a)).toEqual([]);
  });

  it('an order admitted on the committed counters whose exposure moves before its insert is judged again under the lock', async () => {
    // Another writer's order of 995 shares in GRD, counted but not committed: the door reads the committed
    // counters (nothing in GRD), admits a buy of 10 and inserts it under its guard, which waits for that row.
    const other = a.db.createQueryRunner();
    await other.connect();
    await other.startTransaction();
    try {
      await other.query(
        `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, limit_price, time_in_force,
                             status, created_at, updated_at)
         VALUES ('grd-other', 'guard_other', 'GRD', 'buy', 995, 'limit', 1, 'day', 'accepted', now(), now())`,
      );
      const pending = send(a, { ...resting('GRD', 'guard', 'grd'), qty: 10 }).then((r) => r);
      await eventually(
        async () =>
          (await a.db.query(
            `SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%exposure.guard%'`,
          )) as Array<{ n: number }>,
        (rows) => rows[0].n === 1,
      );
      await other.commitTransaction();
      // Past its guard (995 + 10 > 1000) the insert wrote nothing; judged under the lock, it is refused.
      const res = await pending;
      expect(res.status).toBe(422);
      expect(res.body.error).toBe('MAX_POSITION_SIZE');
      const [{ n }] = await a.db.query(`SELECT COUNT(*)::int AS n FROM orders WHERE strategy_id = 'guard'`);
      expect(n).toBe(0);
    } finally {
      if (other.isTransactionActive) await other.rollbackTransaction();
      await other.release();
    }
    await a.db.query(`UPDATE orders SET status = 'canceled' WHERE client_order_id = 'grd-other'`);
    expect(await drift(a)).toEqual([]);
  });

  it('a cancel frees the strategy slot at once; the next order passes', async () => {
    const first = await Promise.all(Array.from({ length: 5 }, (_, i) => send(a, resting(`SOL${i}`, 'solo', `so${i}`))));
    expect(first.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect((await send(a, resting('SOLX', 'solo', 'sox'))).status).toBe(422);
    const cancel = await a.http
      .post(`/api/v1/orders/${first[0].body.client_order_id as string}/cancel`)
      .set(auth)
      .send({});
    expect(cancel.status).toBeLessThan(300);
    const next = await eventually(
      () => send(a, resting('SOLY', 'solo', 'soy')),
      (r) => r.status === 201,
    );
    expect(next.status).toBe(201);
    expect(await drift(a)).toEqual([]);
  });

  it('fills and broker rejections keep the counters equal to a recount', async () => {
    // Market orders fill at once in the sim (position and open quantity move in one transaction).
    const fills = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        send(a, {
          symbol: 'CNT',
          side: i < 4 ? 'buy' : 'sell',
          qty: 10,
          strategy_id: `cnt${i}`,
          idempotency_key: `c${i}`,
        }),
      ),
    );
    expect(fills.map((r) => [r.status, r.body.error])).toEqual(fills.map(() => [201, undefined]));
    simA.failNext('rejected');
    const rejected = await send(a, { ...resting('CNTR', 'rej', 'r1') });
    expect(rejected.body.status).toBe('rejected');
    await eventually(
      async () =>
        (await a.db.query(`SELECT COUNT(*)::int AS n FROM orders WHERE symbol = 'CNT' AND status = 'filled'`))[0]
          .n as number,
      (n) => n === 6,
    );
    await eventually(
      () => drift(a),
      (d) => d.length === 0,
    );
    const [cnt] = await a.db.query(
      `SELECT position_qty::text AS p, open_buy_qty::text AS b FROM symbol_exposure WHERE symbol = 'CNT'`,
    );
    expect(cnt).toEqual({ p: '20', b: '0' });
    const [rej] = await a.db.query(`SELECT open_orders FROM strategy_exposure WHERE strategy_id = 'rej'`);
    expect(rej.open_orders).toBe(0);
  });

  it('the recount at start corrects a counter written past the triggers', async () => {
    await a.db.query(`UPDATE symbol_exposure SET open_buy_qty = open_buy_qty + 999 WHERE symbol = 'CNT'`);
    await a.db.query(`UPDATE strategy_exposure SET open_orders = 99 WHERE strategy_id = 'spread'`);
    const corrected = await a.app.get(ExposureCountersService).verify();
    expect(corrected).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'symbol', key: 'CNT' }),
        expect.objectContaining({ kind: 'strategy', key: 'spread', found: '99', expected: '5' }),
      ]),
    );
    expect(corrected).toHaveLength(2);
    expect(await drift(a)).toEqual([]);
    expect(await a.app.get(ExposureCountersService).verify()).toEqual([]);
  });
});
