/**
 * The sim's price walk through the whole app (docs/simulator.md#price-walk):
 * SIM_* variables reach the sim, the walk's timer runs on the Scheduler port
 * (a ManualScheduler here, so the test steps prices instead of waiting), a
 * limit buy below the market fills once the walk comes down to it, P&L moves
 * with the walked price, and operators read and set prices (audited).
 */
import { Decimal } from '../../../src/common/decimal';
import { ManualScheduler } from '../../../src/infra/clock/manual-scheduler';
import { walkPath } from '../../../src/broker/sim/sim-price-walk';
import { DailyPnlService } from '../../../src/positions/daily-pnl.service';
import { auth, startTestApp, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

jest.setTimeout(60_000);

const SEED = 'e2e-walk';
const VOL = '40';
const STEP_MS = 1000;
const LIMIT = new Decimal('99.2');

const pathOf = (symbol: string, start: string, steps: number) =>
  walkPath(SEED, symbol, new Decimal(start), new Decimal(VOL), steps).map((p) => p.toFixed());

describe('sim price walk (e2e)', () => {
  const walk = new ManualScheduler();
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: {
        DRY_RUN: 'false',
        ORDER_POLL_INTERVAL_SECONDS: '1',
        SIM_PRICE_SEED: SEED,
        SIM_PRICE_VOLATILITY_BPS: VOL,
        SIM_PRICE_STEP_MS: String(STEP_MS),
        SIM_INITIAL_PRICES: 'WALK=100,PNL=50',
        MARKET_DATA_PRICE_CACHE_MS: '0',
      },
      simWalkScheduler: walk,
    });
  });

  afterAll(async () => {
    await t.close();
  });

  const order = async (cid: string) => (await t.http.get(`/api/v1/orders/${cid}`).set(auth)).body;
  const prices = async () => {
    const res = await t.http.get('/api/v1/sim/prices').set(auth);
    expect(res.status).toBe(200);
    return res.body as {
      walk: Record<string, unknown>;
      prices: Array<{ symbol: string; price: string; step: number }>;
    };
  };
  const priceOf = async (symbol: string) => (await prices()).prices.find((p) => p.symbol === symbol);

  it('reports the configured walk and starting prices', async () => {
    const body = await prices();
    expect(body.walk).toEqual({ enabled: true, seed: SEED, volatility_bps: VOL, step_ms: STEP_MS });
    expect(body).toMatchObject({ default_price: '100' });
    expect(await priceOf('WALK')).toEqual({ symbol: 'WALK', price: '100', step: 0 });
  });

  it('a limit buy below the market rests, then fills at the step where the walk comes down to it', async () => {
    const path = pathOf('WALK', '100', 400);
    const crossing = path.findIndex((p) => new Decimal(p).lte(LIMIT)) + 1;
    expect(crossing).toBeGreaterThan(1); // the seed is chosen so the order rests first

    const res = await t.http.post('/api/v1/orders').set(auth).send({
      symbol: 'WALK',
      side: 'buy',
      qty: 5,
      order_type: 'limit',
      limit_price: LIMIT.toFixed(),
      client_order_id: 'walk-1',
    });
    expect(res.status).toBe(201);
    expect(
      (
        await eventually(
          () => order('walk-1'),
          (o) => o.status === 'new',
        )
      ).status,
    ).toBe('new');

    await walk.advance(STEP_MS * (crossing - 1));
    expect(await priceOf('WALK')).toEqual({ symbol: 'WALK', price: path[crossing - 2], step: crossing - 1 });
    expect((await order('walk-1')).status).toBe('new');

    await walk.advance(STEP_MS);
    const filled = await eventually(
      () => order('walk-1'),
      (o) => o.status === 'filled',
    );
    expect(filled).toMatchObject({ status: 'filled', filled_qty: '5', filled_avg_price: path[crossing - 1] });
    expect(new Decimal(filled.filled_avg_price).lte(LIMIT)).toBe(true);
  });

  it('the market data the gateway prices with is the walked price, so P&L moves', async () => {
    const buy = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'PNL', side: 'buy', qty: 10, client_order_id: 'pnl-1' });
    expect(buy.status).toBe(201);
    const bought = await eventually(
      () => order('pnl-1'),
      (o) => o.status === 'filled',
    );
    const entry = new Decimal(bought.filled_avg_price);
    const pnl = t.app.get(DailyPnlService);
    const before = (await pnl.compute()).positions.find((p) => p.symbol === 'PNL');
    expect(before).toMatchObject({ price: entry.toFixed(), unrealized: '0', price_source: 'market_data' });

    await walk.advance(STEP_MS * 5);
    const now = (await priceOf('PNL'))!.price;
    expect(now).not.toBe(entry.toFixed());
    const after = (await pnl.compute()).positions.find((p) => p.symbol === 'PNL');
    expect(after).toMatchObject({ price: now, unrealized: new Decimal(now).minus(entry).mul(10).toFixed() });
  });

  it('an operator sets a price (audited with the operator); bad input is a 422 naming the field', async () => {
    const set = await t.http.put('/api/v1/sim/prices/opsx').set(auth).send({ price: 42.5, operator: 'jane.doe' });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ symbol: 'OPSX', price: '42.5' });
    expect(await priceOf('OPSX')).toMatchObject({ price: '42.5' });
    const audit = (await t.db.query(
      `SELECT actor, symbol, details->>'price' AS price, details->>'previous_price' AS previous
         FROM audit_log WHERE action = 'sim.price_set'`,
    )) as Array<Record<string, string | null>>;
    expect(audit).toEqual([{ actor: 'jane.doe', symbol: 'OPSX', price: '42.5', previous: null }]);

    const badPrice = await t.http.put('/api/v1/sim/prices/OPSX').set(auth).send({ price: '-1', operator: 'jane.doe' });
    expect(badPrice.status).toBe(422);
    expect(JSON.stringify(badPrice.body)).toContain('price');
    const blankOperator = await t.http.put('/api/v1/sim/prices/OPSX').set(auth).send({ price: '1', operator: ' ' });
    expect(blankOperator.status).toBe(422);
    expect(JSON.stringify(blankOperator.body)).toContain('operator');
    // Without an operator, the calling key's name is recorded.
    const byKey = await t.http.put('/api/v1/sim/prices/KEYD').set(auth).send({ price: '7' });
    expect(byKey.status).toBe(200);
    const keyed = (await t.db.query(
      `SELECT actor FROM audit_log WHERE action = 'sim.price_set' AND symbol = 'KEYD'`,
    )) as Array<{ actor: string }>;
    expect(keyed).toHaveLength(1);
    expect(keyed[0]!.actor).not.toBe('');
    const badSymbol = await t.http.put('/api/v1/sim/prices/..').set(auth).send({ price: '1', operator: 'jane.doe' });
    expect([404, 422]).toContain(badSymbol.status);
    const badSymbol2 = await t.http.put('/api/v1/sim/prices/A..B').set(auth).send({ price: '1', operator: 'jane.doe' });
    expect(badSymbol2.status).toBe(422);
    expect(badSymbol2.body.details.fields[0].field).toBe('symbol');
  });
});
