/**
 * The startup reconciliation gate: closed at boot until a run completes (or an
 * operator force-completes it), reduce-only orders pass meanwhile; a broker
 * that cannot be reached keeps it closed and says why, without failing
 * readiness; and two replicas never reconcile at the same time.
 */
import { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { BrokerClient } from '../../../src/broker/broker-client.port';
import { ReconciliationGateService } from '../../../src/reconciliation/reconciliation-gate.service';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { auth, startTestApp, TestApp } from '../../support/app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await sleep(50);
  }
}

function alpacaFor(fake: FakeAlpacaServer): AlpacaBrokerClient {
  return new AlpacaBrokerClient({
    keyId: fake.keyId,
    secretKey: fake.secretKey,
    baseUrl: fake.baseUrl,
    streamUrl: fake.streamUrl,
    submitTimeoutMs: 800,
    requestTimeoutMs: 1000,
    stream: { watchdogMs: 5000, handshakeTimeoutMs: 1000, initialReconnectMs: 50, maxReconnectMs: 500 },
  });
}

const REPORTS = new Set(['listOrders', 'listFills', 'listPositions', 'getOrder', 'getOrderByClientOrderId']);

/** Counts broker report calls per replica and any moment two replicas had one in flight at once. */
class OverlapTracker {
  readonly inFlight = new Map<string, number>();
  readonly calls = new Map<string, number>();
  overlaps = 0;

  wrap(client: BrokerClient, replica: string): BrokerClient {
    return new Proxy(client, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        const fn = v as (...args: unknown[]) => unknown;
        if (typeof prop !== 'string' || !REPORTS.has(prop)) return fn.bind(target);
        return async (...args: unknown[]) => {
          const others = [...this.inFlight].some(([r, n]) => r !== replica && n > 0);
          if (others) this.overlaps += 1;
          this.inFlight.set(replica, (this.inFlight.get(replica) ?? 0) + 1);
          this.calls.set(replica, (this.calls.get(replica) ?? 0) + 1);
          try {
            return await fn.apply(target, args);
          } finally {
            this.inFlight.set(replica, (this.inFlight.get(replica) ?? 1) - 1);
          }
        };
      },
    });
  }
}

const LIVE = { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '3600', RECONCILIATION_INTERVAL_SECONDS: '3600' };

jest.setTimeout(90_000);

describe('reconciliation gate at startup (e2e)', () => {
  const fake = new FakeAlpacaServer();
  const clients: BrokerClient[] = [];
  const apps: TestApp[] = [];

  const start = async (
    env: Record<string, string>,
    opts: { database?: TestApp['database']; wrap?: (c: BrokerClient) => BrokerClient } = {},
  ) => {
    const broker = alpacaFor(fake);
    clients.push(broker);
    const t = await startTestApp({
      env: { ...LIVE, ...env },
      broker: opts.wrap ? opts.wrap(broker) : broker,
      database: opts.database,
      waitForGate: false,
    });
    apps.push(t);
    return t;
  };
  const status = async (t: TestApp) =>
    (await t.http.get('/api/v1/reconciliation/status').set(auth)).body as Record<string, unknown>;

  beforeAll(async () => {
    await fake.start();
  });

  afterEach(async () => {
    fake.setUnreachable(false);
    fake.delayResponse(0);
    // Replicas sharing a database close first (the first one owns it).
    for (const t of apps.splice(0).reverse()) await t.close();
    for (const c of clients.splice(0)) await c.disconnect();
    fake.reset();
  });

  afterAll(async () => {
    await fake.stop();
  });

  it('only reduce-only orders pass until the first run; force-complete opens it (audited); quarantined symbols stay blocked', async () => {
    // A startup delay far away: the gate stays closed for the whole test unless forced.
    const t = await start({ RECONCILIATION_STARTUP_DELAY_SECONDS: '3600' });
    const gate = t.app.get(ReconciliationGateService);
    expect(gate.current()).toMatchObject({ readable: true, open: false });
    expect(await status(t)).toMatchObject({ gate: 'closed', last_run_at: null });
    // Readiness does not wait for the gate; /health reports it (its details need a key).
    expect((await t.http.get('/health/ready')).status).toBe(200);
    const health = await t.http.get('/health').set(auth);
    expect(health.body.details.reconciliation_gate).toMatchObject({ gate: 'closed' });

    fake.setFillBehaviour({ mode: 'manual' });
    await t.db.query(`INSERT INTO positions (symbol, qty, avg_entry_price) VALUES ('GATE', 10, 100)`);
    const increase = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'GATE', side: 'buy', qty: 1 });
    expect(increase.status).toBe(503);
    expect(increase.body.error).toBe('RECONCILIATION_GATE_REDUCE_ONLY');
    const reduce = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'GATE', side: 'sell', qty: 4 });
    expect([201, 202]).toContain(reduce.status);

    const forced = await t.http
      .post('/api/v1/reconciliation/force-complete')
      .set(auth)
      .send({ operator: 'jane.doe', reason: 'broker status page green; checked by hand' });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ gate: 'open', gate_opened_by: 'force', force_completed_by: 'jane.doe' });
    expect(gate.current().open).toBe(true);
    const audit = (await t.db.query(
      `SELECT actor, details->>'reason' AS reason FROM audit_log WHERE action = 'reconciliation.force_completed'`,
    )) as Array<Record<string, string>>;
    expect(audit).toEqual([{ actor: 'jane.doe', reason: 'broker status page green; checked by hand' }]);
    const after = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'GATE', side: 'buy', qty: 1 });
    expect([201, 202]).toContain(after.status);

    // An orphan quarantines its symbol for new exposure.
    fake.plantOrder({ symbol: 'QRTN', side: 'buy', qty: '5', limitPrice: '1' });
    const ran = await t.http.post('/api/v1/reconciliation/run').set(auth).send({});
    expect(ran.status).toBe(200);
    await eventually(
      async () => gate.current().blockedSymbols.has('QRTN'),
      (b) => b,
    );
    const blocked = await t.http.post('/api/v1/orders').set(auth).send({ symbol: 'QRTN', side: 'buy', qty: 1 });
    expect(blocked.status).toBe(503);
    expect(blocked.body.error).toBe('SYMBOL_QUARANTINED');
  });

  it('keeps the gate closed while the broker is unreachable, says why, stays ready, and opens once it is back', async () => {
    fake.setUnreachable(true);
    const t = await start({});
    const gate = t.app.get(ReconciliationGateService);
    const failed = await eventually(
      () => status(t),
      (s) => s.last_run_ok === false,
    );
    expect(failed).toMatchObject({ gate: 'closed', last_run_ok: false });
    expect(String(failed.last_error)).not.toBe('');
    expect(String(failed.gate_reason)).toContain('failed');
    expect(gate.current().open).toBe(false);
    expect((await t.http.get('/health/ready')).status).toBe(200);
    // /health reads the gate's in-memory snapshot, refreshed every 250 ms.
    const health = await eventually(
      () => t.http.get('/health').set(auth),
      (h) => String(h.body.details?.reconciliation_gate?.reason).includes('failed'),
      3_000,
    );
    expect(health.body.details.reconciliation_gate).toMatchObject({ gate: 'closed' });
    expect(String(health.body.details.reconciliation_gate.reason)).toContain('failed');

    fake.setUnreachable(false);
    const ok = await eventually(
      () => status(t),
      (s) => s.gate === 'open',
      20_000,
    );
    expect(ok).toMatchObject({ gate: 'open', gate_opened_by: 'run', last_run_ok: true });
  });

  it('two replicas never reconcile at the same time, and both open their gates', async () => {
    const tracker = new OverlapTracker();
    const a = await start({}, { wrap: (c) => tracker.wrap(c, 'a') });
    const b = await start({}, { database: a.database, wrap: (c) => tracker.wrap(c, 'b') });
    await eventually(
      async () => [(await status(a)).gate, (await status(b)).gate],
      (g) => g.every((x) => x === 'open'),
    );
    // Slow broker answers, so passes last long enough to overlap if nothing prevented it.
    fake.delayResponse(100);
    const servedBefore = Number(
      ((await a.db.query(`SELECT served FROM reconciliation_state`)) as Array<{ served: string }>)[0].served,
    );
    const callsBefore = { a: tracker.calls.get('a') ?? 0, b: tracker.calls.get('b') ?? 0 };
    // Runs go to the leader; backfills run on the replica asked: all of them contend for one lock.
    const calls = await Promise.all([
      a.http.post('/api/v1/reconciliation/fills-backfill').set(auth).send({}),
      b.http.post('/api/v1/reconciliation/fills-backfill').set(auth).send({}),
      a.http.post('/api/v1/reconciliation/run').set(auth).send({}),
      b.http.post('/api/v1/reconciliation/run').set(auth).send({}),
      a.http.post('/api/v1/reconciliation/fills-backfill').set(auth).send({}),
      b.http.post('/api/v1/reconciliation/fills-backfill').set(auth).send({}),
    ]);
    expect(calls.map((c) => c.status)).toEqual([200, 200, 200, 200, 200, 200]);
    // Both replicas did reconciliation work, and never at the same moment.
    expect(tracker.calls.get('a') ?? 0).toBeGreaterThan(callsBefore.a);
    expect(tracker.calls.get('b') ?? 0).toBeGreaterThan(callsBefore.b);
    expect(tracker.overlaps).toBe(0);
    const served = Number(
      ((await a.db.query(`SELECT served FROM reconciliation_state`)) as Array<{ served: string }>)[0].served,
    );
    expect(served).toBeGreaterThan(servedBefore);
    // A periodic run may start right after the last call answered: wait for it to end rather than race it.
    const settled = (s: { gate?: string; running?: boolean }) => s.gate === 'open' && s.running === false;
    expect(await eventually(() => status(a), settled)).toMatchObject({ gate: 'open', running: false });
    expect(await eventually(() => status(b), settled)).toMatchObject({ gate: 'open', running: false });
    expect(tracker.overlaps).toBe(0);
  });
});
