import { hashApiKey } from '../../../src/auth/api-key.service';
import { StateStore } from '../../../src/infra/state/state-store';
import { FatFingerThresholdsRepository } from '../../../src/risk/fat-finger/fat-finger-thresholds.repository';
import { FAT_FINGER_KEY, FatFingerThresholdsService } from '../../../src/risk/fat-finger/fat-finger-thresholds.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

/**
 * Fat-finger thresholds (docs/risk-and-safety.md, docs/api.md): the configured defaults until an
 * operator changes them, per-symbol overrides, every change audited, durable
 * in PostgreSQL and in force on every replica within 1 s; unreadable
 * thresholds are reported as such (the order path fails closed).
 */
describe('fat-finger thresholds (e2e)', () => {
  const env = {
    FAT_FINGER_MAX_NOTIONAL: '250000.50',
    FAT_FINGER_MAX_QTY: '7500',
    FAT_FINGER_MAX_ADV_PCT: '0.1',
    FAT_FINGER_MAX_PRICE_AGE_SECONDS: '45',
  };
  let a: TestApp;
  let b: TestApp;
  const get = (t: TestApp) => t.http.get('/api/v1/fat-finger/thresholds').set(auth);
  const put = (t: TestApp, body: Record<string, unknown>) =>
    t.http.put('/api/v1/fat-finger/thresholds').set(auth).send(body);
  const service = (t: TestApp) => t.app.get(FatFingerThresholdsService);
  const fieldsOf = (res: { body: { details: { fields: Array<{ field: string }> } } }) =>
    res.body.details.fields.map((f) => f.field).sort();

  beforeAll(async () => {
    a = await startTestApp({ env });
    // A second replica on the same database (its own Redis key prefix, the same pub/sub).
    b = await startTestApp({ env, database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  afterEach(() => jest.restoreAllMocks());

  it('answers the configured defaults before any change', async () => {
    const res = await get(a);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      defaults: { max_notional: '250000.5', max_qty: '7500', max_adv_pct: '0.1', max_price_age_seconds: 45 },
      symbol_overrides: {},
      updated_at: null,
      updated_by: null,
    });
    const current = service(a).current();
    expect(current.readable).toBe(true);
    expect(current.thresholds.defaults).toEqual({
      maxNotional: '250000.5',
      maxQty: '7500',
      maxAdvPct: '0.1',
      maxPriceAgeSeconds: 45,
    });
  });

  it('changes a subset, sets, merges and removes symbol overrides, and audits each change with the operator', async () => {
    const first = await put(a, {
      operator: 'jane',
      defaults: { max_qty: 5000, max_price_age_seconds: '20' },
      symbol_overrides: { ' aapl ': { max_notional: '50000.10' }, tsla: { max_adv_pct: 0.02 } },
    });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      defaults: { max_notional: '250000.5', max_qty: '5000', max_adv_pct: '0.1', max_price_age_seconds: 20 },
      symbol_overrides: { AAPL: { max_notional: '50000.1' }, TSLA: { max_adv_pct: '0.02' } },
      updated_at: expect.any(String),
      updated_by: 'jane',
    });
    expect((await get(a)).body).toEqual(first.body);

    // A field merges into an override; null removes an override; one field of an override can be removed too.
    const second = await put(a, {
      operator: 'joe',
      symbol_overrides: { AAPL: { max_qty: '100' }, TSLA: null, 'BRK.B': { max_qty: 1, max_notional: 10 } },
    });
    expect(second.status).toBe(200);
    expect(second.body.symbol_overrides).toEqual({
      AAPL: { max_notional: '50000.1', max_qty: '100' },
      'BRK.B': { max_notional: '10', max_qty: '1' },
    });
    expect(second.body.defaults).toEqual(first.body.defaults);
    expect(second.body.updated_by).toBe('joe');
    expect(Date.parse(second.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(first.body.updated_at));

    const third = await put(a, {
      operator: 'joe',
      symbol_overrides: { 'BRK.B': { max_qty: null, max_notional: null } },
    });
    expect(third.status).toBe(200);
    expect(third.body.symbol_overrides).toEqual({ AAPL: { max_notional: '50000.1', max_qty: '100' } });
    expect(await a.db.query(`SELECT symbol FROM fat_finger_symbol_overrides ORDER BY symbol`)).toEqual([
      { symbol: 'AAPL' },
    ]);

    const audit = await a.db.query(
      `SELECT action, actor, details FROM audit_log WHERE action = 'fat_finger.thresholds_updated' ORDER BY id`,
    );
    expect(audit).toHaveLength(3);
    expect(audit[0]).toEqual({
      action: 'fat_finger.thresholds_updated',
      actor: 'jane',
      details: {
        before: {
          defaults: { max_notional: '250000.5', max_qty: '7500', max_adv_pct: '0.1', max_price_age_seconds: 45 },
          symbol_overrides: {},
          updated_at: null,
          updated_by: null,
        },
        after: first.body,
        api_key: 'admin',
        version: 1,
      },
    });
    expect(audit[1]).toMatchObject({ actor: 'joe', details: { before: first.body, after: second.body, version: 2 } });
    expect(audit[2]).toMatchObject({ actor: 'joe', details: { before: second.body, after: third.body, version: 3 } });

    // The pipeline's view: overrides merged over defaults, whatever the symbol's case.
    const { thresholds } = service(a).current();
    expect(thresholds.symbolOverrides).toEqual({ AAPL: { maxNotional: '50000.1', maxQty: '100' } });
  });

  it('refuses bad values with 422 naming each field, and changes nothing', async () => {
    const before = (await get(a)).body;
    const res = await put(a, {
      operator: ' ',
      defaults: { max_notional: 0, max_qty: -1, max_adv_pct: '1.5', max_price_age_seconds: 2.5, bogus: 1 },
      symbol_overrides: { AAPL: { max_notional: 'lots', max_qty: 0 }, 'NOT VALID!': { max_qty: 1 }, MSFT: 'x' },
      extra: true,
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('VALIDATION_FAILED');
    expect(fieldsOf(res)).toEqual([
      'defaults.bogus',
      'defaults.max_adv_pct',
      'defaults.max_notional',
      'defaults.max_price_age_seconds',
      'defaults.max_qty',
      'extra',
      'operator',
      'symbol_overrides.AAPL.max_notional',
      'symbol_overrides.AAPL.max_qty',
      'symbol_overrides.MSFT',
      'symbol_overrides.NOT VALID!',
    ]);

    const nothing = await put(a, { operator: 'jane' });
    expect(nothing.status).toBe(422);
    expect(fieldsOf(nothing)).toEqual(['defaults']);
    const nullDefault = await put(a, { operator: 'jane', defaults: { max_qty: null } });
    expect(nullDefault.status).toBe(422);
    expect(fieldsOf(nullDefault)).toEqual(['defaults.max_qty']);

    expect((await get(a)).body).toEqual(before);
  });

  it('takes a change without an operator: the calling key is recorded as the operator', async () => {
    const res = await put(a, { symbol_overrides: { FFOVR: { max_qty: 50 } } });
    expect(res.status).toBe(200);
    expect(res.body.symbol_overrides.FFOVR).toEqual({ max_qty: '50' });
    expect(res.body.updated_by).toBe('admin');
    const [row] = await a.db.query(
      `SELECT actor FROM audit_log WHERE action LIKE 'fat_finger%' ORDER BY id DESC LIMIT 1`,
    );
    expect(row.actor).toBe('admin');
    expect((await put(a, { symbol_overrides: { FFOVR: null }, operator: 'jane' })).body.updated_by).toBe('jane');
  });

  it('needs MANAGE_RISK (403 otherwise, 401 without a key)', async () => {
    const key = 'ff-trader-key-0123456789abcdef';
    await a.db.query(
      `INSERT INTO api_keys (name, key_hash, key_prefix, permissions, strategies, created_by)
       VALUES ('ff-trader', $1, 'ff-trader', ARRAY['SUBMIT_ORDER','CANCEL_ORDER','VIEW_ORDERS'], ARRAY['*'], 'test')`,
      [hashApiKey(key)],
    );
    const trader = { Authorization: `Bearer ${key}` };
    const before = (await get(a)).body;
    expect((await a.http.get('/api/v1/fat-finger/thresholds').set(trader)).status).toBe(403);
    const refused = await a.http
      .put('/api/v1/fat-finger/thresholds')
      .set(trader)
      .send({ operator: 'mallory', defaults: { max_qty: 1_000_000 } });
    expect(refused.status).toBe(403);
    expect((await a.http.get('/api/v1/fat-finger/thresholds')).status).toBe(401);
    expect((await get(a)).body).toEqual(before);
  });

  it('a change on one replica is in force on the other within 1 s', async () => {
    const t0 = Date.now();
    expect((await put(a, { operator: 'jane', defaults: { max_notional: '123456.78' } })).status).toBe(200);
    const seen = await eventually(
      async () => service(b).current(),
      (c) => c.thresholds.defaults.maxNotional === '123456.78',
      3_000,
    );
    const afterMs = Date.now() - t0;
    expect(seen.readable).toBe(true);
    expect(seen.thresholds.defaults.maxNotional).toBe('123456.78');
    expect(afterMs).toBeLessThanOrEqual(1_000);

    // And back the other way, with an override.
    const t1 = Date.now();
    expect((await put(b, { operator: 'joe', symbol_overrides: { MSFT: { max_qty: '42' } } })).status).toBe(200);
    const back = await eventually(
      async () => service(a).current(),
      (c) => c.thresholds.symbolOverrides.MSFT?.maxQty === '42',
      3_000,
    );
    const backMs = Date.now() - t1;
    expect(back.thresholds.symbolOverrides.MSFT).toEqual({ maxQty: '42' });
    expect(backMs).toBeLessThanOrEqual(1_000);
    process.stdout.write(`fat-finger propagation: ${afterMs} ms and ${backMs} ms\n`);
  });

  it('serializes concurrent changes on two replicas: neither is lost', async () => {
    // Each writes the whole defaults row: without the row lock, the later writer would put back the field
    // the other one just changed.
    for (let round = 0; round < 5; round++) {
      const qty = String(6000 + round);
      const age = 10 + round;
      const [r1, r2] = await Promise.all([
        put(a, { operator: 'p1', defaults: { max_qty: qty }, symbol_overrides: { [`CC${round}A`]: { max_qty: '1' } } }),
        put(b, {
          operator: 'p2',
          defaults: { max_price_age_seconds: age },
          symbol_overrides: { [`CC${round}B`]: { max_qty: '2' } },
        }),
      ]);
      expect([r1.status, r2.status]).toEqual([200, 200]);
      const now = (await get(a)).body;
      expect(now.defaults).toMatchObject({ max_qty: qty, max_price_age_seconds: age });
      expect(now.symbol_overrides).toMatchObject({
        [`CC${round}A`]: { max_qty: '1' },
        [`CC${round}B`]: { max_qty: '2' },
      });
    }
    const versions: Array<{ v: number }> = await a.db.query(
      `SELECT (details->>'version')::int AS v FROM audit_log
        WHERE action = 'fat_finger.thresholds_updated' AND actor IN ('p1', 'p2') ORDER BY v`,
    );
    expect(versions).toHaveLength(10);
    expect(new Set(versions.map((r) => r.v)).size).toBe(10);
  });

  it('is durable: a gateway started later on the same database has the changed thresholds', async () => {
    const stored = (await get(a)).body;
    // A new process with an empty Redis namespace and other configured defaults: only PostgreSQL knows.
    const c = await startTestApp({ database: a.database, env: { ...env, FAT_FINGER_MAX_ADV_PCT: '0.3' } });
    try {
      const res = await get(c);
      expect(res.status).toBe(200);
      // The operator's values win; a default never set follows this process's configuration.
      expect(res.body).toEqual({ ...stored, defaults: { ...stored.defaults, max_adv_pct: '0.3' } });
      const current = c.app.get(FatFingerThresholdsService).current();
      expect(current.readable).toBe(true);
      expect(current.thresholds.defaults.maxNotional).toBe('123456.78');
      expect(current.thresholds.symbolOverrides.AAPL).toEqual({ maxNotional: '50000.1', maxQty: '100' });
    } finally {
      await c.close();
    }
  });

  it('keeps the thresholds readable from the Redis copy while PostgreSQL cannot be read', async () => {
    jest.spyOn(a.app.get(FatFingerThresholdsRepository), 'read').mockRejectedValue(new Error('db down'));
    await new Promise((r) => setTimeout(r, 1_300));
    const current = service(a).current();
    expect(current.readable).toBe(true);
    expect(current.thresholds.defaults.maxNotional).toBe('123456.78');
  });

  it('fails closed: with neither PostgreSQL nor the Redis copy readable, the thresholds are reported unreadable', async () => {
    expect(service(a).current().readable).toBe(true);
    jest.spyOn(a.app.get(FatFingerThresholdsRepository), 'read').mockRejectedValue(new Error('db down'));
    const store = a.app.get(StateStore);
    const realGet = store.get.bind(store);
    jest
      .spyOn(store, 'get')
      .mockImplementation((key) => (key === FAT_FINGER_KEY ? Promise.reject(new Error('redis down')) : realGet(key)));

    // The last good read ages past the 1 s limit; then the replica no longer trusts it.
    await new Promise((r) => setTimeout(r, 1_300));
    const stale = service(a).current();
    expect(stale.readable).toBe(false);
    // The last known values stay visible for messages.
    expect(stale.thresholds.defaults.maxNotional).toBe('123456.78');
    // The other replica is unaffected.
    expect(service(b).current().readable).toBe(true);

    jest.restoreAllMocks();
    const back = await eventually(
      async () => service(a).current(),
      (c) => c.readable,
      3_000,
    );
    expect(back.readable).toBe(true);
  });
});
