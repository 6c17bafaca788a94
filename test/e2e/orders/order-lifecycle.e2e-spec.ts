import { BrokerOrder } from '../../../src/broker/broker-client.port';
import { ApplyOrderUpdateUseCase, OrderUpdateReport } from '../../../src/orders/use-cases/apply-order-update.use-case';
import { auth, startTestApp, TestApp } from '../../support/app';

/**
 * applyOrderUpdate against real PostgreSQL: fills exactly once whatever the
 * channel and order of arrival, status never backwards, positions exact.
 */
describe('order lifecycle: applyOrderUpdate (e2e)', () => {
  let t: TestApp;
  let apply: ApplyOrderUpdateUseCase;
  let seq = 0;

  beforeAll(async () => {
    t = await startTestApp();
    apply = t.app.get(ApplyOrderUpdateUseCase);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A submitted order, as if the broker path had sent it. */
  async function submittedOrder(o: { symbol?: string; side?: 'buy' | 'sell'; qty?: string } = {}): Promise<string> {
    const id = `lc-${++seq}-${Date.now()}`;
    await t.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status)
       VALUES ($1, 'alpha_baseline', $2, $3, $4, 'market', 'day', 'submitted')`,
      [id, o.symbol ?? 'AAPL', o.side ?? 'buy', o.qty ?? '10'],
    );
    return id;
  }

  function report(
    clientOrderId: string,
    status: string,
    filledQty: string,
    filledAvgPrice: string | null,
    extra: Partial<OrderUpdateReport> = {},
    orderFields: Partial<BrokerOrder> = {},
  ): OrderUpdateReport {
    return {
      source: 'stream',
      at: new Date(),
      order: {
        id: `b-${clientOrderId}`,
        clientOrderId,
        symbol: 'AAPL',
        side: 'buy',
        type: 'market',
        timeInForce: 'day',
        qty: '10',
        limitPrice: null,
        stopPrice: null,
        status,
        filledQty,
        filledAvgPrice,
        createdAt: new Date(),
        updatedAt: null,
        submittedAt: null,
        filledAt: null,
        canceledAt: null,
        replacedBy: null,
        replaces: null,
        ...orderFields,
      },
      ...extra,
    };
  }

  const orderRow = async (id: string) =>
    (
      await t.db.query(
        'SELECT status, filled_qty, filled_avg_price, broker_order_id FROM orders WHERE client_order_id = $1',
        [id],
      )
    )[0];
  const fillRows = async (id: string) =>
    t.db.query('SELECT execution_id, qty, price, cum_qty FROM fills WHERE client_order_id = $1 ORDER BY id', [id]);

  it('applies partial fills in steps, each once, with exact prices', async () => {
    const id = await submittedOrder({ symbol: 'STEP' });
    const sym = { symbol: 'STEP' };
    await apply.apply(report(id, 'new', '0', null, {}, sym));
    await apply.apply(
      report(id, 'partially_filled', '3', '100', { execution: { executionId: 'e1', qty: '3', price: '100' } }, sym),
    );
    await apply.apply(
      report(id, 'partially_filled', '7', '100.4', { execution: { executionId: 'e2', qty: '4', price: '100.7' } }, sym),
    );
    await apply.apply(
      report(id, 'filled', '10', '100.49', { execution: { executionId: 'e3', qty: '3', price: '100.7' } }, sym),
    );
    expect(await orderRow(id)).toEqual({
      status: 'filled',
      filled_qty: '10',
      filled_avg_price: '100.49',
      broker_order_id: `b-${id}`,
    });
    expect((await fillRows(id)).map((f: { qty: string }) => f.qty)).toEqual(['3', '4', '3']);
    const [pos] = await t.db.query(`SELECT qty, avg_entry_price FROM positions WHERE symbol = 'STEP'`);
    expect(pos.qty).toBe('10');
    // 3@100 + 4@100.7 + 3@100.7 = 1005.0 / 10
    expect(pos.avg_entry_price).toBe('100.49');
  });

  it('ignores a replayed execution and a stale status', async () => {
    const id = await submittedOrder({ symbol: 'RPLY' });
    const fill = report(
      id,
      'filled',
      '10',
      '50',
      { execution: { executionId: 'r1', qty: '10', price: '50' } },
      { symbol: 'RPLY' },
    );
    expect((await apply.apply(fill)).fillsRecorded).toBe(1);
    expect(await apply.apply(fill)).toMatchObject({ outcome: 'unchanged', fillsRecorded: 0 });
    expect(await apply.apply(report(id, 'new', '0', null, {}, { symbol: 'RPLY' }))).toMatchObject({
      outcome: 'unchanged',
    });
    expect((await orderRow(id)).status).toBe('filled');
    expect(await fillRows(id)).toHaveLength(1);
  });

  it('keeps a fill that arrives before the new event', async () => {
    const id = await submittedOrder({ symbol: 'EARLY' });
    await apply.apply(
      report(
        id,
        'partially_filled',
        '5',
        '20',
        { execution: { executionId: 'x1', qty: '5', price: '20' } },
        { symbol: 'EARLY' },
      ),
    );
    await apply.apply(report(id, 'new', '0', null, {}, { symbol: 'EARLY' }));
    expect(await orderRow(id)).toMatchObject({ status: 'partially_filled', filled_qty: '5' });
  });

  it('accepts a fill that wins the race with a cancel', async () => {
    const id = await submittedOrder({ symbol: 'RACE' });
    await apply.apply(report(id, 'canceled', '0', null, {}, { symbol: 'RACE' }));
    await apply.apply(
      report(
        id,
        'filled',
        '10',
        '30',
        { execution: { executionId: 'c1', qty: '10', price: '30' } },
        { symbol: 'RACE' },
      ),
    );
    expect(await orderRow(id)).toMatchObject({ status: 'filled', filled_qty: '10' });
  });

  it('dedupes across channels that share no id, using the cumulative quantity', async () => {
    const id = await submittedOrder({ symbol: 'XCH' });
    const sym = { symbol: 'XCH' };
    await apply.apply(
      report(id, 'partially_filled', '4', '10', { execution: { executionId: 's1', qty: '4', price: '10' } }, sym),
    );
    await apply.apply({ ...report(id, 'partially_filled', '4', '10', {}, sym), source: 'poll' });
    await apply.apply({ ...report(id, 'filled', '10', '11.2', {}, sym), source: 'poll' });
    await apply.apply(
      report(id, 'filled', '10', '11.2', { execution: { executionId: 's2', qty: '6', price: '12' } }, sym),
    );
    const fills = await fillRows(id);
    expect(fills.map((f: { qty: string; price: string }) => [f.qty, f.price])).toEqual([
      ['4', '10'],
      ['6', '12'],
    ]);
  });

  it('applies one fill however many channels report it at once', async () => {
    const id = await submittedOrder({ symbol: 'CONC' });
    const r = report(
      id,
      'filled',
      '10',
      '7',
      { execution: { executionId: 'k1', qty: '10', price: '7' } },
      { symbol: 'CONC' },
    );
    const results = await Promise.all(Array.from({ length: 20 }, () => apply.apply(r)));
    expect(results.filter((x) => x.fillsRecorded === 1)).toHaveLength(1);
    expect(await fillRows(id)).toHaveLength(1);
    const [pos] = await t.db.query(`SELECT qty FROM positions WHERE symbol = 'CONC'`);
    expect(pos.qty).toBe('10');
  });

  it('keeps positions exact: 10@100 + 10@110 = 20@105, then selling 5@120 realizes 75', async () => {
    const sym = { symbol: 'MATH' };
    const a = await submittedOrder({ symbol: 'MATH' });
    await apply.apply(
      report(a, 'filled', '10', '100', { execution: { executionId: 'm1', qty: '10', price: '100' } }, sym),
    );
    const b = await submittedOrder({ symbol: 'MATH' });
    await apply.apply(
      report(b, 'filled', '10', '110', { execution: { executionId: 'm2', qty: '10', price: '110' } }, sym),
    );
    let [pos] = await t.db.query(`SELECT qty, avg_entry_price, realized_pl FROM positions WHERE symbol = 'MATH'`);
    expect(pos).toEqual({ qty: '20', avg_entry_price: '105', realized_pl: '0' });
    const c = await submittedOrder({ symbol: 'MATH', side: 'sell', qty: '5' });
    await apply.apply(
      report(
        c,
        'filled',
        '5',
        '120',
        { execution: { executionId: 'm3', qty: '5', price: '120' } },
        { ...sym, side: 'sell', qty: '5' },
      ),
    );
    [pos] = await t.db.query(`SELECT qty, avg_entry_price, realized_pl FROM positions WHERE symbol = 'MATH'`);
    expect(pos).toEqual({ qty: '15', avg_entry_price: '105', realized_pl: '75' });
  });

  it('writes an outbox event and an audit row with each change', async () => {
    const id = await submittedOrder({ symbol: 'OUTB' });
    await apply.apply(
      report(id, 'filled', '10', '5', { execution: { executionId: 'o1', qty: '10', price: '5' } }, { symbol: 'OUTB' }),
    );
    const events = await t.db.query(
      'SELECT event_type, status FROM order_events WHERE client_order_id = $1 ORDER BY id',
      [id],
    );
    expect(events).toEqual([
      { event_type: 'order.fill', status: 'submitted' },
      { event_type: 'order.status', status: 'filled' },
    ]);
    const audit = await t.db.query('SELECT action FROM audit_log WHERE client_order_id = $1', [id]);
    expect(audit).toEqual([{ action: 'order.filled' }]);
  });

  it('reports an order it does not know and writes nothing', async () => {
    const before = await t.db.query('SELECT count(*)::int AS n FROM fills');
    const r = await apply.apply(
      report('never-sent', 'filled', '10', '1', { execution: { executionId: 'u1', qty: '10', price: '1' } }),
    );
    expect(r.outcome).toBe('unknown_order');
    expect(await t.db.query('SELECT count(*)::int AS n FROM fills')).toEqual(before);
  });

  it('ignores broker news about an order that was never sent (dry run)', async () => {
    const created = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'DRY', side: 'buy', qty: 3 });
    const id = created.body.client_order_id as string;
    const r = await apply.apply(
      report(
        id,
        'filled',
        '3',
        '9',
        { execution: { executionId: 'd1', qty: '3', price: '9' } },
        { symbol: 'DRY', qty: '3' },
      ),
    );
    expect(r).toMatchObject({ outcome: 'unchanged', fillsRecorded: 0 });
    expect(await orderRow(id)).toMatchObject({ status: 'dry_run', filled_qty: '0', broker_order_id: null });
    expect(await fillRows(id)).toHaveLength(0);
  });

  it('serves the positions it keeps over GET /api/v1/positions', async () => {
    const res = await t.http.get('/api/v1/positions').set(auth);
    expect(res.status).toBe(200);
    const math = res.body.positions.find((p: { symbol: string }) => p.symbol === 'MATH');
    expect(math).toMatchObject({
      qty: '15',
      avg_entry_price: '105',
      realized_pl: '75',
      // Marked at the sim's market price (100): 15 × (100 − 105).
      current_price: '100',
      market_value: '1500',
      unrealized_pl: '-75',
    });
    expect(res.body.total_positions).toBe(res.body.positions.length);
    expect(typeof res.body.total_realized_pl).toBe('string');
    expect(res.body.positions.every((p: { qty: string }) => p.qty !== '0')).toBe(true);
  });
});
