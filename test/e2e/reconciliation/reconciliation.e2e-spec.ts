/**
 * Reconciliation against the fake Alpaca (real SDK, real adapter): a fill the
 * stream never delivered is recovered from FILL activities exactly once, an
 * order stuck submitted_unconfirmed is resolved, an order the gateway never
 * sent is quarantined (never adopted, never cancelled), a leg the broker has
 * under a known entry is adopted as a leg (not an orphan), and a position the
 * broker disagrees with is reported with both values and nothing invented.
 */
import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { ReconciliationGateService } from '../../../src/reconciliation/reconciliation-gate.service';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { auth, startTestApp, TestApp } from '../../support/app';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

interface Finding {
  id: string;
  kind: string;
  symbol: string;
  broker_order_id: string | null;
  client_order_id: string | null;
  local: Record<string, unknown> | null;
  broker: Record<string, unknown> | null;
  seen_count: number;
  resolved_at: string | null;
  resolution: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await sleep(50);
  }
}

jest.setTimeout(60_000);

describe('reconciliation against the fake Alpaca (e2e)', () => {
  const fake = new FakeAlpacaServer();
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;

  const status = async () => {
    const res = await t.http.get('/api/v1/reconciliation/status').set(auth);
    expect(res.status).toBe(200);
    return res.body as { gate: string; findings: Finding[]; blocked_symbols: Array<{ symbol: string }> } & Record<
      string,
      unknown
    >;
  };
  const run = async () => {
    const res = await t.http.post('/api/v1/reconciliation/run').set(auth).send({});
    expect(res.status).toBe(200);
    return res.body as Awaited<ReturnType<typeof status>>;
  };
  const findings = async (symbol: string) => (await status()).findings.filter((f) => f.symbol === symbol);

  /** An order inserted as the gateway would have written it after the broker acknowledged it. */
  const localOrder = async (o: {
    cid: string;
    symbol: string;
    side: string;
    qty: string;
    status: string;
    bid: string | null;
  }) => {
    await t.db.query(
      `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status,
                           broker_order_id, metadata, created_at, updated_at, submitted_at)
       VALUES ($1, 'alpha_baseline', $2, $3, $4, 'market', 'day', $5, $6, '{}', now(), now(), now())`,
      [o.cid, o.symbol, o.side, o.qty, o.status, o.bid],
    );
  };
  const order = async (cid: string) =>
    (
      (await t.db.query(
        `SELECT status, filled_qty, filled_avg_price, broker_order_id FROM orders WHERE client_order_id = $1`,
        [cid],
      )) as Array<Record<string, string | null>>
    )[0];

  beforeAll(async () => {
    await fake.start();
    alpaca = alpacaClientOf(fake, { submitTimeoutMs: 800, requestTimeoutMs: 2000 });
    t = await startTestApp({
      env: {
        DRY_RUN: 'false',
        // Polling would find what these tests want reconciliation to find: out of the way.
        ORDER_POLL_INTERVAL_SECONDS: '3600',
        RECONCILIATION_INTERVAL_SECONDS: '3600',
        BROKER_SUBMIT_TIMEOUT_MS: '800',
      },
      broker: alpaca,
    });
    const s = await eventually(status, (b) => b.gate === 'open');
    expect(s.gate).toBe('open');
  });

  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    await fake.stop();
  });

  afterEach(() => {
    fake.dropStreamFills(false);
    expect(fake.internalErrors()).toEqual([]);
  });

  it('shows the startup run in the status: last run, duration, no findings, gate open', async () => {
    // The periodic run may be going at the first look: wait for it to end rather than race it.
    const s = await eventually(status, (v) => v.running === false);
    expect(s).toMatchObject({
      gate: 'open',
      gate_opened_by: 'run',
      last_run_ok: true,
      running: false,
      last_error: null,
    });
    expect(typeof s.last_run_at).toBe('string');
    expect(typeof s.last_run_duration_ms).toBe('number');
    expect(s.open_mismatches).toBe(0);
  });

  it('recovers a fill the stream never delivered from FILL activities, exactly once, and rebuilds the position', async () => {
    fake.setFillBehaviour({ mode: 'manual' }, 'RFIL');
    const planted = fake.plantOrder({ symbol: 'RFIL', side: 'buy', qty: '10', clientOrderId: 'rec-fill-1' });
    await localOrder({ cid: 'rec-fill-1', symbol: 'RFIL', side: 'buy', qty: '10', status: 'new', bid: planted.id });
    fake.dropStreamFills(true);
    const first = fake.fill(planted.id, '4', '50.25');
    const second = fake.fill(planted.id, '6', '51');
    await sleep(200);
    expect(await order('rec-fill-1')).toMatchObject({ status: 'new', filled_qty: '0' });

    const res = await t.http.post('/api/v1/reconciliation/fills-backfill').set(auth).send({});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ fills_applied: 2 });
    expect(await order('rec-fill-1')).toMatchObject({ status: 'filled', filled_qty: '10' });
    const fills = (await t.db.query(
      `SELECT execution_id, qty, price, source FROM fills WHERE client_order_id = 'rec-fill-1' ORDER BY cum_qty`,
    )) as Array<Record<string, string>>;
    expect(fills).toEqual([
      { execution_id: first.activityId, qty: '4', price: '50.25', source: 'reconciliation' },
      { execution_id: second.activityId, qty: '6', price: '51', source: 'reconciliation' },
    ]);
    const [pos] = (await t.db.query(`SELECT qty, avg_entry_price FROM positions WHERE symbol = 'RFIL'`)) as Array<
      Record<string, string>
    >;
    expect(pos).toEqual({ qty: '10', avg_entry_price: '50.7' });

    // Again, and inside a full run: nothing new (each execution is applied once).
    const again = await t.http
      .post('/api/v1/reconciliation/fills-backfill')
      .set(auth)
      .send({ since: '2020-01-01T00:00:00Z' });
    expect(again.body).toMatchObject({ fills_applied: 0 });
    const s = await run();
    expect(s.last_run_summary).toMatchObject({ fills_applied: 0 });
    expect(await t.db.query(`SELECT 1 FROM fills WHERE client_order_id = 'rec-fill-1'`)).toHaveLength(2);
    const missing = (await findings('RFIL')).filter((f) => f.kind === 'missing_fill');
    expect(missing).toHaveLength(2);
    expect(missing.every((f) => f.resolution === 'corrected' && f.resolved_at !== null)).toBe(true);
    // Audited with the operator's key.
    const audit = (await t.db.query(
      `SELECT actor FROM audit_log WHERE action = 'reconciliation.fills_backfill'`,
    )) as unknown[];
    expect(audit.length).toBeGreaterThanOrEqual(2);
  });

  it('resolves an order stuck submitted_unconfirmed by its client_order_id', async () => {
    fake.setFillBehaviour({ mode: 'manual' }, 'RUNC');
    const planted = fake.plantOrder({ symbol: 'RUNC', side: 'buy', qty: '3', clientOrderId: 'rec-unconf-1' });
    await localOrder({
      cid: 'rec-unconf-1',
      symbol: 'RUNC',
      side: 'buy',
      qty: '3',
      status: 'submitted_unconfirmed',
      bid: null,
    });
    await run();
    expect(await order('rec-unconf-1')).toMatchObject({ status: 'new', broker_order_id: planted.id });
    expect(fake.postOrderCount('rec-unconf-1')).toBe(0); // looked up, never sent again
    const mismatch = (await findings('RUNC')).find((f) => f.kind === 'status_mismatch');
    expect(mismatch).toMatchObject({ client_order_id: 'rec-unconf-1', resolution: 'corrected' });
  });

  it('applies a terminal state the gateway missed through the same update path', async () => {
    fake.setFillBehaviour({ mode: 'manual' }, 'RTRM');
    const planted = fake.plantOrder({ symbol: 'RTRM', side: 'buy', qty: '5', clientOrderId: 'rec-term-1' });
    await localOrder({ cid: 'rec-term-1', symbol: 'RTRM', side: 'buy', qty: '5', status: 'new', bid: planted.id });
    fake.silenceStream(); // the stream loses the news
    fake.setOrderStatus(planted.id, 'expired');
    fake.unsilenceStream();
    await sleep(100);
    expect(await order('rec-term-1')).toMatchObject({ status: 'new' });
    await run();
    expect(await order('rec-term-1')).toMatchObject({ status: 'expired' });
    const audit = (await t.db.query(
      `SELECT actor FROM audit_log WHERE client_order_id = 'rec-term-1' AND action = 'order.expired'`,
    )) as Array<{ actor: string }>;
    expect(audit).toEqual([{ actor: 'broker:reconciliation' }]);
  });

  it('quarantines an order the gateway never sent: one finding however many runs, never adopted or cancelled', async () => {
    const orphan = fake.plantOrder({ symbol: 'ORPH', side: 'buy', qty: '7', limitPrice: '1' });
    await run();
    const s = await run();
    const found = s.findings.filter((f) => f.kind === 'orphan' && f.broker_order_id === orphan.id);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      symbol: 'ORPH',
      client_order_id: orphan.client_order_id,
      resolved_at: null,
      local: null,
    });
    expect(found[0].broker).toMatchObject({ qty: '7', side: 'buy', status: 'new' });
    expect(found[0].seen_count).toBeGreaterThanOrEqual(2);
    expect(s.blocked_symbols.map((b) => b.symbol)).toContain('ORPH');
    const gate = t.app.get(ReconciliationGateService);
    await eventually(
      async () => gate.current().blockedSymbols.get('ORPH'),
      (b) => b !== undefined,
    );
    expect(gate.current().blockedSymbols.get('ORPH')?.code).toBe('SYMBOL_QUARANTINED');
    // Not adopted (no local order), not cancelled.
    expect(await t.db.query(`SELECT 1 FROM orders WHERE broker_order_id = $1`, [orphan.id])).toHaveLength(0);
    expect(fake.order(orphan.id)?.status).toBe('new');
    expect(fake.requests('DELETE /v2/orders/:id')).toHaveLength(0);
    // Alerted in metrics.
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toMatch(/execution_gateway_reconciliation_findings_total\{kind="orphan"\} [1-9]/);
    expect(metrics.text).toMatch(/execution_gateway_reconciliation_open_findings\{kind="orphan"\} [1-9]/);

    // An operator acknowledges it: audited, the symbol is released, and later runs do not raise it again.
    const ack = await t.http
      .post(`/api/v1/reconciliation/findings/${found[0].id}/acknowledge`)
      .set(auth)
      .send({ operator: 'jane.doe', notes: 'manual hedge placed from the broker UI' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ resolution: 'acknowledged', resolved_by: 'jane.doe' });
    await eventually(
      async () => gate.current().blockedSymbols.has('ORPH'),
      (b) => !b,
    );
    expect(gate.current().blockedSymbols.has('ORPH')).toBe(false);
    await run();
    expect((await findings('ORPH')).filter((f) => f.resolved_at === null)).toHaveLength(0);
    const audit = (await t.db.query(
      `SELECT actor, symbol FROM audit_log WHERE action = 'reconciliation.finding_acknowledged'`,
    )) as Array<Record<string, string>>;
    expect(audit).toContainEqual({ actor: 'jane.doe', symbol: 'ORPH' });
    const twice = await t.http
      .post(`/api/v1/reconciliation/findings/${found[0].id}/acknowledge`)
      .set(auth)
      .send({ operator: 'jane.doe' });
    expect(twice.status).toBe(409);
    const unknown = await t.http
      .post(`/api/v1/reconciliation/findings/999999/acknowledge`)
      .set(auth)
      .send({ operator: 'x' });
    expect(unknown.status).toBe(404);
  });

  it('reports a position mismatch with both values, invents no trade, and resolves when they agree', async () => {
    fake.setPosition('POSM', '7', '12.5');
    const s = await run();
    const f = s.findings.find((x) => x.kind === 'position_mismatch' && x.symbol === 'POSM' && x.resolved_at === null);
    expect(f).toMatchObject({
      local: { qty: '0', avg_entry_price: '0' },
      broker: { qty: '7', avg_entry_price: '12.5' },
    });
    expect(s.blocked_symbols.map((b) => b.symbol)).toContain('POSM');
    expect(await t.db.query(`SELECT 1 FROM fills WHERE symbol = 'POSM'`)).toHaveLength(0);
    expect(await t.db.query(`SELECT 1 FROM positions WHERE symbol = 'POSM' AND qty <> 0`)).toHaveLength(0);
    const s2 = await run();
    expect(s2.findings.filter((x) => x.kind === 'position_mismatch' && x.symbol === 'POSM')).toHaveLength(1);

    fake.setPosition('POSM', '0', '0');
    const s3 = await run();
    expect(s3.findings.find((x) => x.id === f!.id)).toMatchObject({ resolution: 'converged' });
    expect(s3.blocked_symbols.map((b) => b.symbol)).not.toContain('POSM');
  });

  it('compares positions at a quiet cut: fills in flight during a run quarantine nothing, and the next run agrees', async () => {
    fake.setFillBehaviour({ mode: 'manual' }, 'RACE');
    const placed = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'RACE', side: 'buy', qty: 20, order_type: 'market', client_order_id: 'race-1' });
    expect([201, 202]).toContain(placed.status);
    const bid = fake.orderByClientOrderId('race-1')!.id;
    // From here the broker executes, but its fill updates are not streamed: every fill is in flight.
    fake.dropStreamFills(true);
    // The run's first position read waits 600 ms at the broker: a stream of fills executes meanwhile
    // (after the run read the broker's fills), so both position reads see the broker 5 ahead of the books.
    const positionReads = fake.requests('GET /v2/positions').length;
    fake.delayResponse(600, { route: 'GET /v2/positions', count: 1, before: true });
    const running = run();
    await eventually(
      async () => fake.requests('GET /v2/positions').length,
      (n) => n > positionReads,
    );
    const filled = 5;
    for (let i = 0; i < filled; i++) {
      fake.fill(bid, '1');
      await sleep(40);
    }
    const s = await running;
    expect(s.findings.filter((f) => f.kind === 'position_mismatch' && f.symbol === 'RACE')).toEqual([]);
    expect(s.blocked_symbols.map((b) => b.symbol)).not.toContain('RACE');
    expect(s.last_run_summary).toMatchObject({ positions_deferred: 1, position_mismatches: 0 });

    // The fills reach the books (here through the next run's backfill): the positions agree, nothing was found.
    fake.dropStreamFills(false);
    const s2 = await run();
    expect(s2.findings.filter((f) => f.kind === 'position_mismatch' && f.symbol === 'RACE')).toEqual([]);
    expect(s2.blocked_symbols.map((b) => b.symbol)).not.toContain('RACE');
    expect((await order('race-1')).filled_qty).toBe(String(filled));
    const [pos] = (await t.db.query(`SELECT qty FROM positions WHERE symbol = 'RACE'`)) as Array<{ qty: string }>;
    expect(pos.qty).toBe(String(filled));
  });

  it('adopts a leg the broker has under a known entry and the books lack, as a leg: audited, never an orphan', async () => {
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({
        symbol: 'RLEG',
        side: 'buy',
        qty: 4,
        order_type: 'limit',
        limit_price: '100',
        order_class: 'bracket',
        take_profit: { limit_price: '110' },
        stop_loss: { stop_price: '90' },
        client_order_id: 'rec-leg-1',
      });
    expect(res.status).toBe(201);
    const placed = await eventually(
      () => order('rec-leg-1-sl'),
      (o) => o?.broker_order_id != null,
    );
    const brokerLeg = fake.orderByClientOrderId('rec-leg-1')!.legs![1];
    expect(placed.broker_order_id).toBe(brokerLeg.id);
    // The books lose the stop-loss leg's row (a restore from before it was written, say); the broker still has it.
    await t.db.query(`DELETE FROM orders WHERE client_order_id = 'rec-leg-1-sl'`);
    expect(await order('rec-leg-1-sl')).toBeUndefined();

    const s = await run();
    const adopted = (
      await t.db.query(
        `SELECT status, broker_order_id, parent_order_id, leg_type, order_class, side, qty::text AS qty, order_type,
                stop_price::text AS stop_price
           FROM orders WHERE client_order_id = 'rec-leg-1-sl'`,
      )
    )[0];
    expect(adopted).toEqual({
      status: 'accepted',
      broker_order_id: brokerLeg.id,
      parent_order_id: 'rec-leg-1',
      leg_type: 'stop_loss',
      order_class: 'bracket',
      side: 'sell',
      qty: '4',
      order_type: 'stop',
      stop_price: '90',
    });
    const audit = await t.db.query(
      `SELECT actor, details FROM audit_log WHERE client_order_id = 'rec-leg-1-sl' AND action = 'order.leg_adopted'`,
    );
    expect(audit).toEqual([
      { actor: 'reconciliation', details: { parent_order_id: 'rec-leg-1', leg_type: 'stop_loss' } },
    ]);
    const found = s.findings.filter((f) => f.symbol === 'RLEG');
    expect(found.filter((f) => f.kind === 'orphan')).toEqual([]);
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'status_mismatch',
        client_order_id: 'rec-leg-1-sl',
        broker_order_id: brokerLeg.id,
        resolution: 'corrected',
      }),
    ]);
    expect(s.blocked_symbols.map((b) => b.symbol)).not.toContain('RLEG');
    // The next run finds the books and the broker agree: nothing new, nothing adopted twice.
    const again = await run();
    expect(again.findings.filter((f) => f.symbol === 'RLEG')).toHaveLength(1);
    expect(await t.db.query(`SELECT 1 FROM orders WHERE parent_order_id = 'rec-leg-1'`)).toHaveLength(2);
  });

  it('requires MANAGE_RECONCILIATION, and validates bodies', async () => {
    expect((await t.http.get('/api/v1/reconciliation/status')).status).toBe(401);
    const bad = await t.http.post('/api/v1/reconciliation/force-complete').set(auth).send({ operator: ' ', extra: 1 });
    expect(bad.status).toBe(422);
    const since = await t.http.post('/api/v1/reconciliation/fills-backfill').set(auth).send({ since: 'yesterday' });
    expect(since.status).toBe(422);
  });
});
