/**
 * The RBAC matrix (docs/risk-and-safety.md): for every /api/v1 endpoint, a key holding exactly
 * the required permission gets through, a key holding every other permission
 * is refused with 403 PERMISSION_DENIED, and a request without a key gets
 * 401. Then strategy scope: a key scoped to one strategy gets 403 submitting
 * for another and 404 reading or cancelling another's order.
 *
 * The table is test/support/rbac-routes.ts; the first test checks that it
 * lists exactly the endpoints of the running app's OpenAPI document.
 */
import { Permission, PERMISSIONS } from '../../src/auth/permission';
import { auth, startTestApp, TestApp } from '../support/app';
import { createKey, CreatedKey } from '../support/api-keys';
import { RBAC_ROUTES, RbacRoute } from '../support/rbac-routes';
import { expectError } from '../support/http-expect';

interface Probe {
  status: number;
  body: { error?: string } | null;
}

describe('RBAC matrix (e2e)', () => {
  let t: TestApp;
  const only = new Map<Permission, CreatedKey>();
  const allBut = new Map<Permission, CreatedKey>();

  /** Calls the row's endpoint with fetch, so an event stream can be dropped once its status is known. */
  async function call(row: RbacRoute, headers: Record<string, string>): Promise<Probe> {
    const [method] = row.route.split(' ');
    const controller = new AbortController();
    const res = await fetch(`${t.baseUrl}${row.path}`, {
      method,
      headers: { ...headers, ...(row.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: row.body !== undefined ? JSON.stringify(row.body) : undefined,
      signal: controller.signal,
    });
    if (row.stream && res.status === 200) {
      controller.abort();
      return { status: res.status, body: null };
    }
    const text = await res.text();
    let body: Probe['body'];
    try {
      body = JSON.parse(text) as Probe['body'];
    } catch {
      body = null;
    }
    return { status: res.status, body };
  }

  beforeAll(async () => {
    t = await startTestApp();
    for (const p of PERMISSIONS) {
      only.set(p, await createKey(t, [p], ['*'], { name: `only-${p}` }));
      allBut.set(
        p,
        await createKey(
          t,
          PERMISSIONS.filter((x) => x !== p),
          ['*'],
          { name: `all-but-${p}` },
        ),
      );
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  it('the table lists exactly the /api/v1 endpoints the app serves', async () => {
    const doc = await t.http.get('/docs/json');
    expect(doc.status).toBe(200);
    const served = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)
      .filter(([path]) => path.startsWith('/api/v1/'))
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const tabled = RBAC_ROUTES.map((r) => r.route).sort();
    expect(new Set(tabled).size).toBe(tabled.length);
    expect({ missing_from_table: served.filter((r) => !tabled.includes(r)) }).toEqual({ missing_from_table: [] });
    expect({ not_served: tabled.filter((r) => !served.includes(r)) }).toEqual({ not_served: [] });
  });

  describe.each(RBAC_ROUTES.map((r) => [r.route, r] as const))('%s', (_, row) => {
    it('without a key: 401', async () => {
      const res = await call(row, {});
      expect(res.status).toBe(401);
    });

    if (row.permission === null) {
      it('any valid key gets through, whatever its permissions', async () => {
        for (const p of PERMISSIONS) {
          const res = await call(row, only.get(p)!.auth);
          expect({ permission: p, status: res.status }).toEqual({ permission: p, status: 200 });
        }
      });
      return;
    }
    const needed = row.permission;

    it(`a key with only ${needed} gets through`, async () => {
      const res = await call(row, only.get(needed)!.auth);
      // Through the guard: whatever the endpoint answers next (200, 404, 422, 503...), not a refusal or a crash.
      expect({
        status: res.status,
        refused: [401, 403].includes(res.status) || (res.status >= 500 && res.status !== 503),
      }).toEqual({
        status: res.status,
        refused: false,
      });
    });

    it(`a key with every permission but ${needed}: 403 PERMISSION_DENIED`, async () => {
      const res = await call(row, allBut.get(needed)!.auth);
      expect({ status: res.status, error: res.body?.error }).toEqual({ status: 403, error: 'PERMISSION_DENIED' });
    });

    it(`no key with a single other permission gets through`, async () => {
      for (const p of PERMISSIONS.filter((x) => x !== needed)) {
        const res = await call(row, only.get(p)!.auth);
        expect({ permission: p, status: res.status }).toEqual({ permission: p, status: 403 });
      }
    });
  });

  describe('strategy scope', () => {
    let scoped: CreatedKey;
    const submit = (key: { Authorization: string }, body: Record<string, unknown>) =>
      t.http.post('/api/v1/orders').set(key).send(body);

    beforeAll(async () => {
      scoped = await createKey(t, ['SUBMIT_ORDER', 'VIEW_ORDERS', 'CANCEL_ORDER'], ['strat_a'], { name: 'scoped-a' });
      // Out of the way of the matrix's kill-switch and breaker rows, whatever order they ran in.
      await t.http.post('/api/v1/kill-switch/disengage').set(auth).send({ operator: 'rbac' });
      await t.http.post('/api/v1/circuit-breaker/reset').set(auth).send({ operator: 'rbac' });
      const b = await submit(auth, {
        symbol: 'SCOPE',
        side: 'buy',
        qty: 1,
        client_order_id: 'scope-b-1',
        strategy_id: 'strat_b',
      });
      expect(b.status).toBe(201);
    });

    it('submits for its own strategy', async () => {
      const res = await submit(scoped.auth, {
        symbol: 'SCOPE',
        side: 'buy',
        qty: 1,
        client_order_id: 'scope-a-1',
        strategy_id: 'strat_a',
      });
      expect(res.status).toBe(201);
      expect((await t.http.get('/api/v1/orders/scope-a-1').set(scoped.auth)).status).toBe(200);
    });

    it('403 STRATEGY_FORBIDDEN submitting for another strategy (or the default one), writing nothing', async () => {
      expectError(
        await submit(scoped.auth, {
          symbol: 'SCOPE',
          side: 'buy',
          qty: 1,
          client_order_id: 'scope-x-1',
          strategy_id: 'strat_b',
        }),
        403,
        'STRATEGY_FORBIDDEN',
      );
      expectError(
        await submit(scoped.auth, { symbol: 'SCOPE', side: 'buy', qty: 1, client_order_id: 'scope-x-2' }),
        403,
        'STRATEGY_FORBIDDEN',
      );
      const rows = await t.db.query(`SELECT count(*)::int AS n FROM orders WHERE client_order_id LIKE 'scope-x-%'`);
      expect(rows).toEqual([{ n: 0 }]);
    });

    it("404 reading or cancelling another strategy's order, which stays as it was", async () => {
      expectError(await t.http.get('/api/v1/orders/scope-b-1').set(scoped.auth), 404, 'ORDER_NOT_FOUND');
      expectError(await t.http.post('/api/v1/orders/scope-b-1/cancel').set(scoped.auth), 404, 'ORDER_NOT_FOUND');
      const [row] = await t.db.query(`SELECT status FROM orders WHERE client_order_id = 'scope-b-1'`);
      expect(row.status).not.toMatch(/cancel/);
      expect((await t.http.get('/api/v1/orders/scope-b-1').set(auth)).status).toBe(200);
    });

    it("never lists another strategy's orders", async () => {
      const res = await t.http.get('/api/v1/orders?limit=100').set(scoped.auth);
      expect(res.status).toBe(200);
      const ids = res.body.orders as Array<{
        client_order_id: string;
        strategy_id: string;
      }>;
      expect(ids.map((o) => o.client_order_id)).toContain('scope-a-1');
      expect(ids.every((o) => o.strategy_id === 'strat_a')).toBe(true);
    });
  });
});
