import { ReconciliationGateService } from '../../../src/reconciliation/reconciliation-gate.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { expectError } from '../../support/http-expect';
import { eventually } from '../../support/wait';

const SLICE = '/api/v1/orders/slice';

/**
 * A plan's own pre-trade check when it is accepted (docs/twap.md#accepting-a-plan):
 * the reconciliation gate, the circuit breaker and the risk limits on its
 * total refuse it with the order's reason codes, audited, nothing written.
 * The gate stays closed until forced (startup delay far away); positions are
 * limited to 50 shares.
 */
describe('TWAP plan acceptance: gate, breaker, limits (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      waitForGate: false,
      env: { RECONCILIATION_STARTUP_DELAY_SECONDS: '3600', MAX_POSITION_SIZE: '50' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const submit = (symbol: string, qty: number, side = 'buy') =>
    t.http.post(SLICE).set(auth).send({ symbol, side, qty, duration_minutes: 10 });

  /** The refusal was audited with its reason code, and no plan nor slice was written. */
  async function refusedCleanly(symbol: string, code: string): Promise<void> {
    const [plans] = await t.db.query(`SELECT count(*)::int AS n FROM twap_plans WHERE symbol = $1`, [symbol]);
    expect(plans.n).toBe(0);
    const [orders] = await t.db.query(`SELECT count(*)::int AS n FROM orders WHERE symbol = $1`, [symbol]);
    expect(orders.n).toBe(0);
    const [audit] = await t.db.query(
      `SELECT count(*)::int AS n FROM audit_log WHERE symbol = $1 AND reason_code = $2`,
      [symbol, code],
    );
    expect(audit.n).toBe(1);
  }

  it('refuses a plan that adds exposure while the reconciliation gate is closed (503), accepts it once forced open', async () => {
    expect(t.app.get(ReconciliationGateService).current().open).toBe(false);
    expectError(await submit('TGATE', 20), 503, 'RECONCILIATION_GATE_REDUCE_ONLY');
    await refusedCleanly('TGATE', 'RECONCILIATION_GATE_REDUCE_ONLY');
    const forced = await t.http
      .post('/api/v1/reconciliation/force-complete')
      .set(auth)
      .send({ operator: 'ops', reason: 'twap acceptance test' });
    expect(forced.status).toBe(200);
    const ok = await eventually(
      () => submit('TGATE', 20),
      (r) => r.status === 201,
    );
    expect(ok.body).toMatchObject({ symbol: 'TGATE', total_qty: 20 });
  });

  it('refuses a plan while the circuit breaker is tripped (503), accepts it after the reset', async () => {
    const trip = await t.http
      .post('/api/v1/circuit-breaker/trip')
      .set(auth)
      .send({ operator: 'ops', reason: 'twap acceptance test' });
    expect(trip.status).toBe(200);
    try {
      const res = await eventually(
        () => submit('TBRK', 20),
        (r) => r.status === 503,
      );
      expectError(res, 503, 'CIRCUIT_BREAKER_TRIPPED');
      await refusedCleanly('TBRK', 'CIRCUIT_BREAKER_TRIPPED');
    } finally {
      expect((await t.http.post('/api/v1/circuit-breaker/reset').set(auth).send({ operator: 'ops' })).status).toBe(200);
    }
    const ok = await eventually(
      () => submit('TBRK', 20),
      (r) => r.status === 201,
    );
    expect(ok.body).toMatchObject({ symbol: 'TBRK', total_qty: 20 });
  });

  it('applies the risk limits to the total: a plan of 60 when positions are limited to 50 is 422, one of 50 passes', async () => {
    // Each of its 10 slices (6 shares) would pass on its own: the limit judges the whole plan.
    const res = await submit('TLIM', 60);
    expectError(res, 422, 'MAX_POSITION_SIZE');
    await refusedCleanly('TLIM', 'MAX_POSITION_SIZE');
    const fits = await submit('TLIM', 50);
    expect(fits.status).toBe(201);
    expect(fits.body).toMatchObject({ total_qty: 50, total_slices: 10 });
  });
});
