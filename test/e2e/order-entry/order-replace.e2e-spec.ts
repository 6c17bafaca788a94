/**
 * PATCH /api/v1/orders/{client_order_id} (docs/order-lifecycle.md#replacing-an-order) through the whole
 * app: validated and admitted at the one order-entry door, the replacement written ahead, sent as a
 * replace through the real Alpaca SDK to the fake Alpaca (and again to the sim broker), the old order
 * ending `replaced` with `replaced_by`, whatever the order of the broker's answers.
 */
import type { AlpacaBrokerClient } from '../../../src/broker/alpaca/alpaca-broker-client';
import { SimBrokerClient } from '../../../src/broker/sim/sim-broker.client';
import { SystemClock } from '../../../src/infra/clock/clock';
import { SimMarketDataProvider } from '../../../src/market-data/sim/sim-market-data.provider';
import { createKey } from '../../support/api-keys';
import { auth, startTestApp, TestApp } from '../../support/app';
import { FakeAlpacaServer } from '../../support/fake-alpaca/fake-alpaca.server';
import { eventually } from '../../support/wait';
import { alpacaClientOf } from '../../support/fake-alpaca/alpaca-client';

jest.setTimeout(60_000);

interface Harness {
  t: TestApp;
  /** Fills `qty` of the order at the broker while the gateway does not hear of it. */
  fillUnheard(clientOrderId: string, symbol: string, qty: string): Promise<void>;
  /** Lets the gateway hear the broker again. */
  hearAgain(): void;
  /** Fills the order at the broker, heard. */
  fill(clientOrderId: string, symbol: string, qty: string): Promise<void>;
}

type Detail = Record<string, unknown> & { status: string; client_order_id: string };

function replaceSuite(name: string, harness: () => Harness): void {
  describe(name, () => {
    let seq = 0;
    const h = () => harness();
    const detail = async (id: string): Promise<Detail> =>
      (await h().t.http.get(`/api/v1/orders/${id}`).set(auth)).body as Detail;
    const patch = (id: string, body: unknown, as = auth) =>
      h()
        .t.http.patch(`/api/v1/orders/${id}`)
        .set(as)
        .send(body as object);

    /** A limit buy far below the reference price (100) rests at the broker as `new`. */
    async function resting(symbol: string, extra: Record<string, unknown> = {}): Promise<string> {
      const id = `rpl-${name.slice(0, 4)}-${++seq}-${Date.now() % 100000}`;
      const res = await h()
        .t.http.post('/api/v1/orders')
        .set(auth)
        .send({ symbol, side: 'buy', qty: 3, order_type: 'limit', limit_price: '1', client_order_id: id, ...extra });
      expect(res.status).toBe(201);
      await eventually(
        () => detail(id),
        (o) => o.status === 'new',
      );
      return id;
    }

    it('replaces a resting limit (price and qty): a new order row, the old one replaced, the chain visible', async () => {
      const id = await resting('RPA');
      const res = await patch(id, { qty: 5, limit_price: '2' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ client_order_id: `${id}-r1`, replaces: id, qty: 5, limit_price: '2' });
      const old = await eventually(
        () => detail(id),
        (o) => o.status === 'replaced',
      );
      expect(old).toMatchObject({ replaced_by: `${id}-r1`, replaces: null, qty: 3, limit_price: '1' });
      const next = await eventually(
        () => detail(`${id}-r1`),
        (o) => o.status === 'new',
      );
      expect(next).toMatchObject({ replaces: id, replaced_by: null, qty: 5, limit_price: '2', symbol: 'RPA' });
      expect(next.broker_order_id).not.toEqual(old.broker_order_id);

      // The chain goes on: the next replace is numbered from the chain's first order.
      const again = await patch(`${id}-r1`, { limit_price: '1.5' });
      expect(again.status).toBe(200);
      expect(again.body.client_order_id).toBe(`${id}-r2`);
      await eventually(
        () => detail(`${id}-r1`),
        (o) => o.status === 'replaced' && o.replaced_by === `${id}-r2`,
      );
      const audit = await h().t.db.query('SELECT action FROM audit_log WHERE client_order_id = $1 ORDER BY id', [id]);
      expect(audit.map((a: { action: string }) => a.action)).toEqual(
        expect.arrayContaining(['order.replace_requested', 'order.replaced']),
      );
      // One order row per replace, each in the event stream's outbox.
      const events = await h().t.db.query(
        `SELECT client_order_id, status FROM order_events WHERE client_order_id = ANY($1) AND event_type = 'order.status'`,
        [[id, `${id}-r1`]],
      );
      expect(events).toEqual(
        expect.arrayContaining([
          { client_order_id: id, status: 'replaced' },
          { client_order_id: `${id}-r1`, status: 'new' },
        ]),
      );
    });

    it('replace then cancel the replacement', async () => {
      const id = await resting('RPB');
      expect((await patch(id, { limit_price: '1.25', client_order_id: `${id}-mine` })).status).toBe(200);
      const c = await h().t.http.post(`/api/v1/orders/${id}-mine/cancel`).set(auth);
      expect(c.status).toBe(200);
      await eventually(
        () => detail(`${id}-mine`),
        (o) => o.status === 'canceled',
      );
      expect((await detail(id)).status).toBe('replaced');
    });

    it('409 ORDER_NOT_REPLACEABLE on a canceled and on a filled order, naming the status', async () => {
      const id = await resting('RPC');
      await h().t.http.post(`/api/v1/orders/${id}/cancel`).set(auth);
      await eventually(
        () => detail(id),
        (o) => o.status === 'canceled',
      );
      const res = await patch(id, { limit_price: '2' });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ error: 'ORDER_NOT_REPLACEABLE', details: { status: 'canceled' } });

      const filled = await resting('RPC2');
      await h().fill(filled, 'RPC2', '3');
      await eventually(
        () => detail(filled),
        (o) => o.status === 'filled',
      );
      const f = await patch(filled, { qty: 2 });
      expect(f.status).toBe(409);
      expect(f.body).toMatchObject({ error: 'ORDER_NOT_REPLACEABLE', details: { status: 'filled' } });
      expect(f.body.message).toMatch(/filled/);
    });

    it('concurrent replaces of one order: exactly one wins, the other gets 409', async () => {
      const id = await resting('RPD');
      const answers = await Promise.all([patch(id, { limit_price: '2' }), patch(id, { limit_price: '3' })]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const loser = answers.find((a) => a.status === 409)!;
      expect(loser.body.error).toBe('ORDER_NOT_REPLACEABLE');
      const rows = await h().t.db.query('SELECT client_order_id FROM orders WHERE replaces = $1', [id]);
      expect(rows).toHaveLength(1);
    });

    it('every 422 names its field or NO_CHANGE', async () => {
      const id = await resting('RPE');
      const cases: Array<[unknown, string]> = [
        [{}, 'NO_CHANGE'],
        [{ limit_price: '1.00', qty: 3 }, 'NO_CHANGE'],
        [{ stop_price: '5' }, 'stop_price'],
        [{ trail_price: '1' }, 'trail_price'],
        [{ trail_percent: '1' }, 'trail_percent'],
        [{ trail: '1' }, 'trail'],
        [{ qty: 0 }, 'qty'],
        [{ qty: '1.5' }, 'qty'],
        [{ limit_price: '-1' }, 'limit_price'],
        [{ time_in_force: 'forever' }, 'time_in_force'],
        [{ symbol: 'MSFT' }, 'symbol'],
        [{ side: 'sell' }, 'side'],
        [{ client_order_id: 'bad id!' }, 'client_order_id'],
        [{ client_order_id: `${'a'.repeat(24)}-s1` }, 'client_order_id'],
        [[], 'body'],
      ];
      for (const [body, named] of cases) {
        const res = await patch(id, body);
        expect({ body, status: res.status }).toEqual({ body, status: 422 });
        if (named === 'NO_CHANGE') expect(res.body.error).toBe('NO_CHANGE');
        else {
          expect({ body, error: res.body.error }).toEqual({ body, error: 'VALIDATION_FAILED' });
          expect(res.body.details.fields.map((f: { field: string }) => f.field)).toContain(named);
        }
      }
      // Nothing was written for any of them.
      expect(await h().t.db.query('SELECT 1 FROM orders WHERE replaces = $1', [id])).toHaveLength(0);
      expect((await detail(id)).status).toBe('new');
    });

    it("scope: another strategy's key gets the 404 GET gives; a key without SUBMIT_ORDER 403", async () => {
      const id = await resting('RPF');
      const other = await createKey(h().t, ['SUBMIT_ORDER', 'VIEW_ORDERS', 'CANCEL_ORDER'], ['someone_else']);
      const viaGet = await h().t.http.get(`/api/v1/orders/${id}`).set(other.auth);
      const res = await patch(id, { limit_price: '2' }, other.auth);
      expect(viaGet.status).toBe(404);
      expect(res.status).toBe(404);
      expect(res.body.error).toBe(viaGet.body.error);
      expect((await patch('rpl-no-such-order', { limit_price: '2' }, other.auth)).status).toBe(404);
      const viewer = await createKey(h().t, ['VIEW_ORDERS']);
      expect((await patch(id, { limit_price: '2' }, viewer.auth)).status).toBe(403);
      expect((await detail(id)).status).toBe('new');
    });

    it('a replace racing a fill: the broker refuses, the replacement ends rejected, the old keeps the broker state', async () => {
      const id = await resting('RPG');
      await h().fillUnheard(id, 'RPG', '3');
      const res = await patch(id, { limit_price: '2' });
      h().hearAgain();
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        error: 'ORDER_NOT_REPLACEABLE',
        details: { status: 'filled', replacement: `${id}-r1`, replacement_status: 'rejected' },
      });
      expect(await detail(id)).toMatchObject({ status: 'filled', filled_qty: '3', replaced_by: null });
      expect(await detail(`${id}-r1`)).toMatchObject({ status: 'rejected', replaces: id });
      const audit = await h().t.db.query(
        `SELECT action, reason_code FROM audit_log WHERE client_order_id = $1 ORDER BY id`,
        [`${id}-r1`],
      );
      expect(audit).toEqual(expect.arrayContaining([{ action: 'order.rejected', reason_code: 'REPLACE_REJECTED' }]));
    });
  });
}

describe('PATCH /orders/{id} against the fake Alpaca, through the real SDK (e2e)', () => {
  const fake = new FakeAlpacaServer();
  const market = new SimMarketDataProvider({ clock: new SystemClock() });
  let alpaca: AlpacaBrokerClient;
  let t: TestApp;

  beforeAll(async () => {
    await fake.start();
    alpaca = alpacaClientOf(fake, { submitTimeoutMs: 1000, requestTimeoutMs: 1000 });
    t = await startTestApp({
      broker: alpaca,
      marketData: market,
      env: {
        DRY_RUN: 'false',
        RECONCILIATION_INTERVAL_SECONDS: '3600',
        ORDER_POLL_INTERVAL_SECONDS: '1',
        BROKER_SUBMIT_TIMEOUT_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await alpaca?.disconnect();
    await fake.stop();
  });
  afterEach(() => expect(fake.internalErrors()).toEqual([]));

  const brokerIdOf = (cid: string) => fake.orderByClientOrderId(cid)!.id;

  replaceSuite('fake Alpaca', () => ({
    t,
    fillUnheard: async (cid, _symbol, qty) => {
      fake.dropStreamFills(true);
      fake.fill(brokerIdOf(cid), qty, '1');
    },
    hearAgain: () => fake.dropStreamFills(false),
    fill: async (cid, _symbol, qty) => {
      fake.fill(brokerIdOf(cid), qty, '1');
    },
  }));

  const detail = async (id: string): Promise<Detail> => (await t.http.get(`/api/v1/orders/${id}`).set(auth)).body;
  const rest = async (id: string, symbol: string, extra: Record<string, unknown> = {}) => {
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol, side: 'buy', qty: 3, order_type: 'limit', limit_price: '1', client_order_id: id, ...extra });
    expect(res.status).toBe(201);
    await eventually(
      () => detail(id),
      (o) => o.status === 'new',
    );
  };

  it("sends Alpaca's wire body: the new terms and the replacement's client_order_id", async () => {
    await rest('rpl-wire', 'RPW');
    expect(
      (await t.http.patch('/api/v1/orders/rpl-wire').set(auth).send({ limit_price: '1.10', time_in_force: 'gtc' }))
        .status,
    ).toBe(200);
    const [req] = fake
      .requests('PATCH /v2/orders/:id')
      .filter((r) => (r.body as { client_order_id?: string }).client_order_id === 'rpl-wire-r1');
    expect(req.body).toEqual({ qty: '3', limit_price: '1.1', time_in_force: 'gtc', client_order_id: 'rpl-wire-r1' });
    expect(fake.orderByClientOrderId('rpl-wire-r1')).toMatchObject({ replaces: brokerIdOf('rpl-wire') });
    expect(fake.orderByClientOrderId('rpl-wire')).toMatchObject({
      status: 'replaced',
      replaced_by: brokerIdOf('rpl-wire-r1'),
    });
  });

  it('a partially filled order: the fills stay with it, the replacement is for its own qty', async () => {
    await rest('rpl-part', 'RPP', { qty: 4 });
    fake.fill(brokerIdOf('rpl-part'), '1', '1');
    await eventually(
      () => detail('rpl-part'),
      (o) => o.status === 'partially_filled',
    );
    const res = await t.http.patch('/api/v1/orders/rpl-part').set(auth).send({ qty: 5 });
    expect(res.status).toBe(200);
    const old = await eventually(
      () => detail('rpl-part'),
      (o) => o.status === 'replaced',
    );
    expect(old).toMatchObject({ filled_qty: '1', qty: 4, replaced_by: 'rpl-part-r1' });
    expect(await detail('rpl-part-r1')).toMatchObject({ qty: 5, filled_qty: '0' });
    // Without a qty the replacement is for the open rest.
    await rest('rpl-part2', 'RPP', { qty: 4 });
    fake.fill(brokerIdOf('rpl-part2'), '1', '1');
    await eventually(
      () => detail('rpl-part2'),
      (o) => o.filled_qty === '1',
    );
    expect((await t.http.patch('/api/v1/orders/rpl-part2').set(auth).send({ limit_price: '1.2' })).body.qty).toBe(3);
  });

  it('a lost answer is a 202, resolved by the replacement client_order_id (no second replace)', async () => {
    await rest('rpl-lost', 'RPL');
    fake.dropResponseAfterAccept(1, 'PATCH /v2/orders/:id');
    const res = await t.http.patch('/api/v1/orders/rpl-lost').set(auth).send({ limit_price: '1.3' });
    expect(res.status).toBe(202);
    expect(res.body.client_order_id).toBe('rpl-lost-r1');
    // The stream may already have told of the replacement by the time the answer is written.
    expect(['submitted_unconfirmed', 'new']).toContain(res.body.status);
    await eventually(
      () => detail('rpl-lost-r1'),
      (o) => o.status === 'new',
      15_000,
    );
    expect(await detail('rpl-lost')).toMatchObject({ status: 'replaced', replaced_by: 'rpl-lost-r1' });
    expect(fake.orders().filter((o) => o.client_order_id === 'rpl-lost-r1')).toHaveLength(1);
  });

  it('the broker’s `replaced` event before its HTTP answer: the same end state', async () => {
    await rest('rpl-late', 'RPZ');
    fake.delayResponse(400, { route: 'PATCH /v2/orders/:id', count: 1 });
    const res = await t.http.patch('/api/v1/orders/rpl-late').set(auth).send({ limit_price: '1.4' });
    expect(res.status).toBe(200);
    const old = await eventually(
      () => detail('rpl-late'),
      (o) => o.status === 'replaced' && o.replaced_by === 'rpl-late-r1',
    );
    expect(old.replaced_by).toBe('rpl-late-r1');
    expect(await detail('rpl-late-r1')).toMatchObject({ status: 'new', replaces: 'rpl-late' });
  });

  it('reconciliation adopts a replacement the broker has and the books do not, and ends the old order replaced', async () => {
    await rest('rpl-adopt', 'RPQ');
    fake.silenceStream();
    try {
      // The replace reached the broker, but its answer was never recorded (a crash, another client).
      const res = await fetch(`${fake.baseUrl}/v2/orders/${brokerIdOf('rpl-adopt')}`, {
        method: 'PATCH',
        headers: {
          'APCA-API-KEY-ID': fake.keyId,
          'APCA-API-SECRET-KEY': fake.secretKey,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ limit_price: '1.6', client_order_id: 'rpl-adopt-elsewhere' }),
      });
      expect(res.status).toBe(200);
      const run = await t.http.post('/api/v1/reconciliation/run').set(auth).send({});
      expect(run.status).toBe(200);
    } finally {
      fake.unsilenceStream();
    }
    expect(await detail('rpl-adopt')).toMatchObject({ status: 'replaced', replaced_by: 'rpl-adopt-elsewhere' });
    expect(await detail('rpl-adopt-elsewhere')).toMatchObject({
      status: 'new',
      replaces: 'rpl-adopt',
      limit_price: '1.6',
      qty: 3,
      strategy_id: (await detail('rpl-adopt')).strategy_id,
    });
    const orphans = await t.db.query(
      `SELECT 1 FROM reconciliation_findings WHERE kind = 'orphan' AND client_order_id = 'rpl-adopt-elsewhere'`,
    );
    expect(orphans).toHaveLength(0);
    const audit = await t.db.query(`SELECT action FROM audit_log WHERE client_order_id = 'rpl-adopt-elsewhere'`);
    expect(audit.map((a: { action: string }) => a.action)).toContain('order.replacement_adopted');
  });

  it('the broker refusing the replace (buying power) leaves the order working: 422 REPLACE_REJECTED', async () => {
    await rest('rpl-ref', 'RPR');
    fake.rejectNext(1, 'PATCH /v2/orders/:id');
    const res = await t.http.patch('/api/v1/orders/rpl-ref').set(auth).send({ qty: 30 });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      error: 'REPLACE_REJECTED',
      details: { status: 'new', replacement_status: 'rejected' },
    });
    expect(await detail('rpl-ref')).toMatchObject({ status: 'new', replaced_by: null });
    // And it can be replaced again (the rejected attempt holds nothing): the next free number.
    const again = await t.http.patch('/api/v1/orders/rpl-ref').set(auth).send({ qty: 2 });
    expect(again.status).toBe(200);
    expect(again.body.client_order_id).toBe('rpl-ref-r2');
  });
});

describe('PATCH /orders/{id} on the sim broker (e2e)', () => {
  let sim: SimBrokerClient;
  let t: TestApp;

  beforeAll(async () => {
    sim = new SimBrokerClient({ clock: new SystemClock() });
    t = await startTestApp({
      broker: sim,
      env: { DRY_RUN: 'false', ORDER_POLL_INTERVAL_SECONDS: '1', RECONCILIATION_INTERVAL_SECONDS: '3600' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  replaceSuite('sim', () => ({
    t,
    fillUnheard: async (_cid, symbol) => {
      sim.dropStream();
      // The price falls through the resting limit: it fills at the sim, unheard.
      sim.setPrice(symbol, '0.5');
      await new Promise((r) => setTimeout(r, 50));
    },
    hearAgain: () => sim.restoreStream(),
    fill: async (_cid, symbol) => {
      sim.setPrice(symbol, '0.5');
    },
  }));
});
