import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import { ManualClock } from '../../infra/clock/clock';
import { BrokerError, type BrokerOrderRequest, type OrderUpdate } from '../broker-client.port';
import { SimBrokerClient } from './sim-broker.client';
import type { SimBrokerOptions } from './sim-options';
import { splitQuantity } from './sim-order';

function makeSim(overrides: Partial<SimBrokerOptions> = {}): { sim: SimBrokerClient; clock: ManualClock } {
  const clock = new ManualClock(new Date('2026-01-05T15:00:00.000Z'));
  let n = 0;
  const sim = new SimBrokerClient({
    clock,
    referencePrices: { AAPL: '100', MSFT: '400' },
    idFactory: () => `id-${++n}`,
    ...overrides,
  });
  return { sim, clock };
}

let coid = 0;
function order(overrides: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest {
  coid += 1;
  return {
    clientOrderId: `c-${coid}`,
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    type: 'market',
    timeInForce: 'day',
    limitPrice: null,
    stopPrice: null,
    ...overrides,
  };
}

interface Recorder {
  updates: OrderUpdate[];
  log: string[];
}

async function record(sim: SimBrokerClient): Promise<Recorder> {
  const recorder: Recorder = { updates: [], log: [] };
  await sim.connect({
    onUpdate: (u) => {
      recorder.updates.push(u);
      recorder.log.push(`${u.event}:${u.order.clientOrderId}`);
    },
    onConnected: (reconnect) => {
      recorder.log.push(`connected:${reconnect}`);
    },
  });
  return recorder;
}

async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('expected a BrokerError');
}

describe('SimBrokerClient', () => {
  describe('market orders', () => {
    it('acknowledges as new, then fills at the reference price on the stream', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      const ack = await sim.submitOrder(order({ clientOrderId: 'm-1', qty: '10' }));
      expect(ack).toMatchObject({ clientOrderId: 'm-1', status: 'new', filledQty: '0', filledAvgPrice: null });
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:m-1', 'fill:m-1']);
      const fill = rec.updates[1];
      expect(fill.order).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '100' });
      expect(fill.execution).toEqual({ executionId: expect.any(String), qty: '10', price: '100', positionQty: '10' });
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'filled', filledAt: expect.any(Date) });
    });

    it('uses the configurable default price for unknown symbols', async () => {
      const { sim } = makeSim({ defaultPrice: '12.34' });
      const ack = await sim.submitOrder(order({ symbol: 'ZZZ', qty: '3' }));
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'filled', filledAvgPrice: '12.34' });
      expect(sim.referencePrice('ZZZ')).toBe('12.34');
    });

    it('stamps orders and events with the injected clock', async () => {
      const { sim, clock } = makeSim();
      const rec = await record(sim);
      const ack = await sim.submitOrder(order());
      await sim.settle();
      expect(ack.createdAt).toEqual(clock.now());
      expect(rec.updates.map((u) => u.at)).toEqual([clock.now(), clock.now()]);
    });
  });

  describe('limit and stop orders', () => {
    it('rests a non-marketable limit buy as new and fills it when setPrice crosses, at the reference', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      const ack = await sim.submitOrder(order({ clientOrderId: 'l-1', type: 'limit', limitPrice: '99.50' }));
      expect(ack.limitPrice).toBe('99.5');
      sim.setPrice('AAPL', '99.75');
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'new', filledQty: '0' });
      sim.setPrice('AAPL', '99.25');
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'filled', filledAvgPrice: '99.25' });
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:l-1', 'fill:l-1']);
    });

    it('fills a marketable limit on arrival at the reference (the better price), sells when reference >= limit', async () => {
      const { sim } = makeSim();
      const buy = await sim.submitOrder(order({ type: 'limit', limitPrice: '101' }));
      expect(await sim.getOrder(buy.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100' });

      const sell = await sim.submitOrder(order({ side: 'sell', type: 'limit', limitPrice: '100.5' }));
      expect(await sim.getOrder(sell.id)).toMatchObject({ status: 'new' });
      sim.setPrice('AAPL', '100.5');
      expect(await sim.getOrder(sell.id)).toMatchObject({ status: 'filled', filledAvgPrice: '100.5' });
    });

    it('triggers a stop when crossed and then fills it like a market order', async () => {
      const { sim } = makeSim();
      const stop = await sim.submitOrder(order({ side: 'sell', type: 'stop', stopPrice: '95' }));
      sim.setPrice('AAPL', '96');
      expect(await sim.getOrder(stop.id)).toMatchObject({ status: 'new' });
      sim.setPrice('AAPL', '94');
      expect(await sim.getOrder(stop.id)).toMatchObject({ status: 'filled', filledAvgPrice: '94' });
    });

    it('turns a triggered stop_limit into a limit that fills only when the limit is also met', async () => {
      const { sim } = makeSim();
      const sl = await sim.submitOrder(order({ type: 'stop_limit', stopPrice: '105', limitPrice: '106' }));
      sim.setPrice('AAPL', '107'); // triggers (>= 105) but 107 > 106: rests as a limit
      expect(await sim.getOrder(sl.id)).toMatchObject({ status: 'new' });
      sim.setPrice('AAPL', '104'); // below the stop again, but the trigger stays
      expect(await sim.getOrder(sl.id)).toMatchObject({ status: 'filled', filledAvgPrice: '104' });
    });

    it("fills resting orders in time priority and shares a move's liquidity", async () => {
      const { sim } = makeSim({ liquidity: { AAPL: '15' } });
      const first = await sim.submitOrder(order({ type: 'limit', limitPrice: '99' }));
      const second = await sim.submitOrder(order({ type: 'limit', limitPrice: '99' }));
      sim.setPrice('AAPL', '98');
      expect(await sim.getOrder(first.id)).toMatchObject({ status: 'filled', filledQty: '10' });
      expect(await sim.getOrder(second.id)).toMatchObject({ status: 'partially_filled', filledQty: '5' });
    });
  });

  describe('partial fills', () => {
    it('splits a fill into N executions with distinct ids and cumulative quantities', async () => {
      const { sim } = makeSim({ partialFills: 3 });
      const rec = await record(sim);
      await sim.submitOrder(order({ clientOrderId: 'p-1', qty: '10' }));
      await sim.settle();
      const fills = rec.updates.filter((u) => u.execution !== undefined);
      expect(fills.map((u) => u.event)).toEqual(['partial_fill', 'partial_fill', 'fill']);
      expect(fills.map((u) => u.execution?.qty)).toEqual(['4', '3', '3']);
      expect(fills.map((u) => u.order.filledQty)).toEqual(['4', '7', '10']);
      expect(fills.map((u) => u.order.status)).toEqual(['partially_filled', 'partially_filled', 'filled']);
      expect(fills.map((u) => u.execution?.positionQty)).toEqual(['4', '7', '10']);
      expect(new Set(fills.map((u) => u.execution?.executionId)).size).toBe(3);
      const { fills: listed } = await sim.listFills({});
      expect(listed.map((f) => f.executionId)).toEqual(fills.map((u) => u.execution?.executionId));
      expect(listed.map((f) => [f.cumQty, f.leavesQty])).toEqual([
        ['4', '6'],
        ['7', '3'],
        ['10', '0'],
      ]);
    });

    it('reports the exact weighted average price across executions at different prices', async () => {
      const { sim } = makeSim({ liquidity: { AAPL: '3' } });
      const rec = await record(sim);
      const ack = await sim.submitOrder(order({ qty: '10', type: 'limit', limitPrice: '101' }));
      sim.setPrice('AAPL', '100.5');
      sim.setPrice('AAPL', '100.25');
      sim.setPrice('AAPL', '99');
      await sim.settle();
      const fills = rec.updates.filter((u) => u.execution !== undefined);
      expect(fills.map((u) => [u.execution?.qty, u.execution?.price])).toEqual([
        ['3', '100'],
        ['3', '100.5'],
        ['3', '100.25'],
        ['1', '99'],
      ]);
      expect(fills.map((u) => u.order.filledAvgPrice)).toEqual(['100', '100.25', '100.25', '100.125']);
      expect(await sim.getOrder(ack.id)).toMatchObject({
        status: 'filled',
        filledQty: '10',
        filledAvgPrice: '100.125',
      });
    });

    it('splits quantities into whole shares that sum exactly, never an empty execution', () => {
      const parts = (qty: string, n: number) => splitQuantity(new Decimal(qty), n).map((d) => d.toFixed());
      expect(parts('10', 3)).toEqual(['4', '3', '3']);
      expect(parts('2', 5)).toEqual(['1', '1']);
      expect(parts('1', 4)).toEqual(['1']);
      expect(parts('7', 1)).toEqual(['7']);
    });
  });

  describe('time in force', () => {
    it('ioc: fills what is available now and cancels the rest at once', async () => {
      const { sim } = makeSim({ liquidity: { AAPL: '60' } });
      const rec = await record(sim);
      const ack = await sim.submitOrder(order({ clientOrderId: 'ioc-1', qty: '100', timeInForce: 'ioc' }));
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'canceled', filledQty: '60' });
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:ioc-1', 'partial_fill:ioc-1', 'canceled:ioc-1']);
    });

    it('ioc: a non-marketable order is canceled unfilled', async () => {
      const { sim } = makeSim();
      const ack = await sim.submitOrder(order({ type: 'limit', limitPrice: '90', timeInForce: 'ioc' }));
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'canceled', filledQty: '0' });
      sim.setPrice('AAPL', '80');
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'canceled', filledQty: '0' });
    });

    it('fok: cancels without any fill when not fully fillable at once', async () => {
      const { sim } = makeSim({ liquidity: { AAPL: '60' } });
      const rec = await record(sim);
      const ack = await sim.submitOrder(order({ clientOrderId: 'fok-1', qty: '100', timeInForce: 'fok' }));
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'canceled', filledQty: '0' });
      expect((await sim.listFills({})).fills).toEqual([]);
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:fok-1', 'canceled:fok-1']);
    });

    it('fok: fills completely when it can', async () => {
      const { sim } = makeSim({ liquidity: { AAPL: '100' } });
      const ack = await sim.submitOrder(order({ qty: '100', timeInForce: 'fok' }));
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'filled', filledQty: '100' });
    });

    it('endOfDay expires open day orders and keeps gtc ones', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      const day = await sim.submitOrder(order({ clientOrderId: 'day-1', type: 'limit', limitPrice: '50' }));
      const gtc = await sim.submitOrder(order({ type: 'limit', limitPrice: '50', timeInForce: 'gtc' }));
      const expired = sim.endOfDay();
      expect(expired.map((o) => o.id)).toEqual([day.id]);
      expect(await sim.getOrder(day.id)).toMatchObject({ status: 'expired' });
      expect(await sim.getOrder(gtc.id)).toMatchObject({ status: 'new' });
      await sim.settle();
      expect(rec.log).toContain('expired:day-1');
    });
  });

  describe('validation and broker-side rejects', () => {
    it('rejects a duplicate client_order_id like Alpaca (422 40010001), even after a cancel', async () => {
      const { sim } = makeSim();
      const first = await sim.submitOrder(order({ clientOrderId: 'dup', type: 'limit', limitPrice: '50' }));
      const again = await rejection(sim.submitOrder(order({ clientOrderId: 'dup' })));
      expect(again).toMatchObject({
        kind: 'rejected',
        details: { status: 422, code: 40010001, duplicateClientOrderId: true },
      });
      await sim.cancelOrder(first.id);
      const afterCancel = await rejection(sim.submitOrder(order({ clientOrderId: 'dup' })));
      expect(afterCancel.details.duplicateClientOrderId).toBe(true);
      expect(await sim.listOrders({ status: 'all' })).toHaveLength(1);
      expect(sim.submissionCount('dup')).toBe(3);
    });

    it.each<[string, Partial<BrokerOrderRequest>]>([
      ['zero qty', { qty: '0' }],
      ['fractional qty', { qty: '1.5' }],
      ['a limit without limit price', { type: 'limit' }],
      ['a stop_limit without stop price', { type: 'stop_limit', limitPrice: '100' }],
      ['a market order with a limit price', { limitPrice: '100' }],
      ['a negative limit price', { type: 'limit', limitPrice: '-1' }],
      ['an unknown time in force', { timeInForce: 'opg' as never }],
      ['an empty client order id', { clientOrderId: '' }],
    ])('rejects %s as a 422 and creates no order', async (_name, overrides) => {
      const { sim } = makeSim();
      const req = order(overrides);
      const error = await rejection(sim.submitOrder(req));
      expect(error).toMatchObject({ kind: 'rejected', details: { status: 422 } });
      expect(await sim.listOrders({ status: 'all' })).toEqual([]);
    });

    it('refuses symbols it does not trade and orders above maxQty', async () => {
      const { sim } = makeSim({ rejectSymbols: ['HALT'], maxQty: '500' });
      expect(await rejection(sim.submitOrder(order({ symbol: 'HALT' })))).toMatchObject({
        kind: 'rejected',
        message: 'asset HALT is not tradable',
      });
      expect(await rejection(sim.submitOrder(order({ qty: '501' })))).toMatchObject({ kind: 'rejected' });
      await expect(sim.submitOrder(order({ qty: '500' }))).resolves.toMatchObject({ status: 'new' });
    });

    it('refuses orders beyond buying power (403 insufficient buying power) but lets reductions through', async () => {
      const { sim } = makeSim({ startingCash: '10000' });
      const tooBig = await rejection(sim.submitOrder(order({ qty: '101' })));
      expect(tooBig).toMatchObject({
        kind: 'rejected',
        message: 'insufficient buying power',
        details: { status: 403, code: 40310000 },
      });
      await sim.submitOrder(order({ qty: '100' })); // uses all 10,000
      expect((await sim.getAccount()).buyingPower).toBe('0');
      expect(await rejection(sim.submitOrder(order({ qty: '1' })))).toMatchObject({ kind: 'rejected' });
      await expect(sim.submitOrder(order({ side: 'sell', qty: '40' }))).resolves.toMatchObject({ status: 'new' });
    });

    it('counts open orders against buying power', async () => {
      const { sim } = makeSim({ startingCash: '10000' });
      await sim.submitOrder(order({ qty: '60', type: 'limit', limitPrice: '100' })); // fills: 6,000 used
      await sim.submitOrder(order({ qty: '30', type: 'limit', limitPrice: '90' })); // rests: 2,700 reserved
      expect((await sim.getAccount()).buyingPower).toBe('1300');
      expect(await rejection(sim.submitOrder(order({ qty: '14' })))).toMatchObject({ kind: 'rejected' });
    });
  });

  describe('cancel, replace, close', () => {
    it('cancels an open order (event canceled) and refuses to cancel one that is not cancelable', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      const open = await sim.submitOrder(order({ clientOrderId: 'x-1', type: 'limit', limitPrice: '50' }));
      await expect(sim.cancelOrder(open.id)).resolves.toBeUndefined();
      expect(await sim.getOrder(open.id)).toMatchObject({ status: 'canceled', canceledAt: expect.any(Date) });
      expect(await rejection(sim.cancelOrder(open.id))).toMatchObject({
        kind: 'rejected',
        details: { status: 422, code: 42210000 },
      });
      const filled = await sim.submitOrder(order());
      expect(await rejection(sim.cancelOrder(filled.id))).toMatchObject({ kind: 'rejected' });
      expect(await rejection(sim.cancelOrder('nope'))).toMatchObject({ kind: 'not_found' });
      await sim.settle();
      expect(rec.log.filter((l) => l.endsWith('x-1'))).toEqual(['new:x-1', 'canceled:x-1']);
    });

    it('cancelAllOrders cancels every open order and answers 200 for each', async () => {
      const { sim } = makeSim();
      const a = await sim.submitOrder(order({ type: 'limit', limitPrice: '50' }));
      const b = await sim.submitOrder(order({ symbol: 'MSFT', side: 'sell', type: 'limit', limitPrice: '500' }));
      await sim.submitOrder(order());
      expect(await sim.cancelAllOrders()).toEqual([
        { brokerOrderId: a.id, status: 200 },
        { brokerOrderId: b.id, status: 200 },
      ]);
      expect(await sim.listOrders({ status: 'open' })).toEqual([]);
    });

    it('replace creates a new order linked both ways; the old one becomes replaced', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      const old = await sim.submitOrder(order({ clientOrderId: 'r-old', type: 'limit', limitPrice: '90' }));
      const replacement = await sim.replaceOrder(old.id, { limitPrice: '95', clientOrderId: 'r-new' });
      expect(replacement).toMatchObject({
        clientOrderId: 'r-new',
        status: 'new',
        limitPrice: '95',
        qty: '10',
        replaces: old.id,
      });
      expect(await sim.getOrder(old.id)).toMatchObject({ status: 'replaced', replacedBy: replacement.id });
      sim.setPrice('AAPL', '94');
      expect(await sim.getOrder(replacement.id)).toMatchObject({ status: 'filled', filledAvgPrice: '94' });
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:r-old', 'replaced:r-old', 'new:r-new', 'fill:r-new']);
      expect(await rejection(sim.replaceOrder(old.id, { limitPrice: '96' }))).toMatchObject({ kind: 'rejected' });
      expect(await rejection(sim.submitOrder(order({ clientOrderId: 'r-old' })))).toMatchObject({
        details: { duplicateClientOrderId: true },
      });
    });

    it('replacing a partially filled order opens a new order for the unfilled rest', async () => {
      const { sim } = makeSim({ liquidity: { AAPL: '4' } });
      const old = await sim.submitOrder(order({ qty: '10', type: 'limit', limitPrice: '100' }));
      expect(await sim.getOrder(old.id)).toMatchObject({ status: 'partially_filled', filledQty: '4' });
      const replacement = await sim.replaceOrder(old.id, { limitPrice: '99' });
      expect(replacement).toMatchObject({ qty: '6', filledQty: '0', limitPrice: '99' });
      expect(await sim.getOrder(old.id)).toMatchObject({ status: 'replaced', filledQty: '4' });
      expect(
        await rejection(sim.replaceOrder(replacement.id, { clientOrderId: replacement.clientOrderId })),
      ).toMatchObject({ details: { duplicateClientOrderId: true } });
    });

    it('closePosition submits a market order on the opposite side', async () => {
      const { sim } = makeSim();
      await sim.submitOrder(order({ side: 'sell', qty: '7' }));
      const close = await sim.closePosition('AAPL', { qty: '3' });
      expect(close).toMatchObject({ side: 'buy', qty: '3', type: 'market', status: 'new' });
      expect((await sim.listPositions())[0].qty).toBe('-4');
      await sim.closePosition('AAPL');
      expect(await sim.listPositions()).toEqual([]);
      expect(await rejection(sim.closePosition('AAPL'))).toMatchObject({ kind: 'not_found' });
    });
  });

  describe('positions and account', () => {
    it('keeps a weighted average entry, realizes P&L on reductions and flips through zero', async () => {
      const { sim } = makeSim();
      await sim.submitOrder(order({ qty: '10' })); // 10 @ 100
      sim.setPrice('AAPL', '110');
      await sim.submitOrder(order({ qty: '10' })); // 10 @ 110 → avg 105
      expect(await sim.listPositions()).toEqual([
        {
          symbol: 'AAPL',
          qty: '20',
          avgEntryPrice: '105',
          marketValue: '2200',
          currentPrice: '110',
          unrealizedPl: '100',
        },
      ]);
      sim.setPrice('AAPL', '120');
      await sim.submitOrder(order({ side: 'sell', qty: '5' })); // realizes 5 × 15
      expect((await sim.listPositions())[0]).toMatchObject({ qty: '15', avgEntryPrice: '105' });
      expect(sim.realizedPl('AAPL')).toBe('75');
      sim.setPrice('AAPL', '90');
      await sim.submitOrder(order({ side: 'sell', qty: '25' })); // closes 15 (−225), opens −10 @ 90
      expect((await sim.listPositions())[0]).toMatchObject({ qty: '-10', avgEntryPrice: '90', unrealizedPl: '0' });
      expect(sim.realizedPl('AAPL')).toBe('-150');
      sim.setPrice('AAPL', '80');
      expect((await sim.listPositions())[0]).toMatchObject({ marketValue: '-800', unrealizedPl: '100' });
      const account = await sim.getAccount();
      expect(account).toMatchObject({ cash: '100750', equity: '99950', lastEquity: '100000', tradingBlocked: false });
      // equity = starting cash + realized + unrealized
      expect(new Decimal(account.equity).eq(new Decimal('100000').minus(150).plus(100))).toBe(true);
      sim.endOfDay();
      expect((await sim.getAccount()).lastEquity).toBe('99950');
    });

    it('moves cash with fills exactly', async () => {
      const { sim } = makeSim({ referencePrices: { X: '0.1' } });
      for (let i = 0; i < 3; i += 1) await sim.submitOrder(order({ symbol: 'X', qty: '1' }));
      expect((await sim.getAccount()).cash).toBe('99999.7');
    });
  });

  describe('reports', () => {
    it('pages fills oldest first with execution ids as page tokens, and filters by time', async () => {
      const { sim, clock } = makeSim();
      const t0 = clock.now();
      for (let i = 0; i < 5; i += 1) {
        clock.advance(1000);
        await sim.submitOrder(order({ qty: String(i + 1) }));
      }
      const page1 = await sim.listFills({ pageSize: 2 });
      expect(page1.fills.map((f) => f.qty)).toEqual(['1', '2']);
      expect(page1.nextPageToken).toBe(page1.fills[1].executionId);
      const page2 = await sim.listFills({ pageSize: 2, pageToken: page1.nextPageToken! });
      expect(page2.fills.map((f) => f.qty)).toEqual(['3', '4']);
      const page3 = await sim.listFills({ pageSize: 2, pageToken: page2.nextPageToken! });
      expect(page3.fills.map((f) => f.qty)).toEqual(['5']);
      expect(page3.nextPageToken).toBeNull();

      const window = await sim.listFills({
        after: new Date(t0.getTime() + 1000),
        until: new Date(t0.getTime() + 5000),
      });
      expect(window.fills.map((f) => f.qty)).toEqual(['2', '3', '4']);
      expect(window.nextPageToken).toBeNull();
      expect(await rejection(sim.listFills({ pageToken: 'unknown' }))).toMatchObject({ kind: 'rejected' });
    });

    it('lists orders newest first by status, symbols, time window and limit', async () => {
      const { sim, clock } = makeSim();
      const t0 = clock.now();
      clock.advance(1000);
      const filled = await sim.submitOrder(order());
      clock.advance(1000);
      const resting = await sim.submitOrder(order({ type: 'limit', limitPrice: '1' }));
      clock.advance(1000);
      const msft = await sim.submitOrder(order({ symbol: 'MSFT', type: 'limit', limitPrice: '1' }));
      const ids = async (q: Parameters<SimBrokerClient['listOrders']>[0]) => (await sim.listOrders(q)).map((o) => o.id);
      expect(await ids({ status: 'all' })).toEqual([msft.id, resting.id, filled.id]);
      expect(await ids({ status: 'open' })).toEqual([msft.id, resting.id]);
      expect(await ids({ status: 'closed' })).toEqual([filled.id]);
      expect(await ids({ status: 'all', symbols: ['AAPL'] })).toEqual([resting.id, filled.id]);
      expect(await ids({ status: 'all', limit: 1 })).toEqual([msft.id]);
      expect(
        await ids({ status: 'all', after: new Date(t0.getTime() + 1000), until: new Date(t0.getTime() + 3000) }),
      ).toEqual([resting.id]);
      expect(await sim.getOrderByClientOrderId('never-seen')).toBeNull();
      expect(await sim.getOrder('never-seen')).toBeNull();
    });
  });

  describe('the update stream', () => {
    it('delivers asynchronously, in order, starting with onConnected(false)', async () => {
      const { sim } = makeSim({ partialFills: 2 });
      const rec = await record(sim);
      expect(sim.streamState()).toBe('connected');
      expect(rec.log).toEqual([]); // not even onConnected inside connect()
      await sim.submitOrder(order({ clientOrderId: 'e-1', qty: '4' }));
      expect(rec.log).toEqual([]); // the ack comes before any event
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:e-1', 'partial_fill:e-1', 'fill:e-1']);
    });

    it('awaits an async handler before delivering the next update', async () => {
      const { sim } = makeSim();
      const seen: string[] = [];
      await sim.connect({
        onConnected: () => undefined,
        onUpdate: async (u) => {
          seen.push(`start:${u.event}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
          seen.push(`end:${u.event}`);
        },
      });
      await sim.submitOrder(order());
      await sim.settle();
      expect(seen).toEqual(['start:new', 'end:new', 'start:fill', 'end:fill']);
    });

    it('keeps delivering when a handler throws', async () => {
      const { sim } = makeSim();
      const events: string[] = [];
      await sim.connect({
        onConnected: () => undefined,
        onUpdate: (u) => {
          events.push(u.event);
          if (u.event === 'new') throw new Error('consumer bug');
        },
      });
      await sim.submitOrder(order());
      await sim.settle();
      expect(events).toEqual(['new', 'fill']);
      expect(sim.handlerErrors).toHaveLength(1);
    });

    it('stops delivery on disconnect and says reconnect=true on the next connect', async () => {
      const { sim } = makeSim();
      const states: string[] = [];
      const rec: string[] = [];
      const handlers = {
        onUpdate: (u: OrderUpdate) => void rec.push(u.event),
        onConnected: (reconnect: boolean) => void rec.push(`connected:${reconnect}`),
        onStateChange: (s: string) => void states.push(s),
      };
      await sim.connect(handlers);
      await sim.submitOrder(order());
      await sim.disconnect(); // queued, undelivered updates are dropped
      expect(sim.streamState()).toBe('disconnected');
      await sim.submitOrder(order());
      await sim.settle();
      expect(rec).toEqual([]);
      await sim.connect(handlers);
      await sim.submitOrder(order());
      await sim.settle();
      expect(rec).toEqual(['connected:true', 'new', 'fill']);
      expect(states).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
    });

    it('a dropped stream loses updates until restored, then signals a reconnect', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      await sim.settle();
      sim.dropStream();
      const lost = await sim.submitOrder(order({ clientOrderId: 'lost-1' }));
      sim.restoreStream();
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'connected:true']);
      expect(await sim.getOrder(lost.id)).toMatchObject({ status: 'filled' }); // REST still knows
    });

    it('emits fills after fillLatencyMs and acks after latencyMs', async () => {
      const { sim } = makeSim({ latencyMs: 5, fillLatencyMs: 10 });
      const rec = await record(sim);
      const ack = await sim.submitOrder(order({ clientOrderId: 'slow' }));
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'new' });
      await sim.settle();
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'filled' });
      expect(rec.log).toEqual(['connected:false', 'new:slow', 'fill:slow']);
    });
  });

  describe('injected faults', () => {
    it('acceptThenLose: the call throws unknown_outcome but exactly one order exists for the id', async () => {
      const { sim } = makeSim();
      sim.failNext('unknown_outcome', 1, { acceptThenLose: true });
      const req = order({ clientOrderId: 'lost' });
      expect(await rejection(sim.submitOrder(req))).toMatchObject({ kind: 'unknown_outcome' });
      const found = await sim.getOrderByClientOrderId('lost');
      expect(found).toMatchObject({ clientOrderId: 'lost', status: 'filled' });
      // A blind resubmission with the same id is refused as a duplicate, never a second order.
      expect(await rejection(sim.submitOrder(req))).toMatchObject({ details: { duplicateClientOrderId: true } });
      const all = await sim.listOrders({ status: 'all' });
      expect(all.filter((o) => o.clientOrderId === 'lost')).toHaveLength(1);
      expect(sim.submissionCount('lost')).toBe(2);
    });

    it('unknown_outcome without acceptance leaves no order; retryable carries retry-after', async () => {
      const { sim } = makeSim();
      sim.failNext('unknown_outcome');
      sim.failNext('retryable', 1, { retryAfterMs: 250 });
      expect(await rejection(sim.submitOrder(order({ clientOrderId: 'u-1' })))).toMatchObject({
        kind: 'unknown_outcome',
      });
      expect(await sim.getOrderByClientOrderId('u-1')).toBeNull();
      expect(await rejection(sim.submitOrder(order({ clientOrderId: 'u-1' })))).toMatchObject({
        kind: 'retryable',
        details: { status: 429, retryAfterMs: 250 },
      });
      await expect(sim.submitOrder(order({ clientOrderId: 'u-1' }))).resolves.toMatchObject({ status: 'new' });
      expect(sim.pendingFaults()).toBe(0);
    });

    it('rejected: definitive refusal, or after the ack as a rejected event', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      sim.failNext('rejected', 2);
      expect(await rejection(sim.submitOrder(order()))).toMatchObject({ kind: 'rejected' });
      expect(await rejection(sim.submitOrder(order()))).toMatchObject({ kind: 'rejected' });
      sim.failNext('rejected', 1, { afterAck: true });
      const ack = await sim.submitOrder(order({ clientOrderId: 'venue-no' }));
      expect(ack.status).toBe('new');
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:venue-no', 'rejected:venue-no']);
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'rejected', filledQty: '0' });
    });

    it('a deadline shorter than the latency is an unknown outcome, and the order still lands', async () => {
      const { sim } = makeSim({ latencyMs: 20 });
      expect(await rejection(sim.submitOrder(order({ clientOrderId: 'late' }), { timeoutMs: 5 }))).toMatchObject({
        kind: 'unknown_outcome',
      });
      await sim.settle();
      expect(await sim.getOrderByClientOrderId('late')).toMatchObject({ status: 'filled' });
    });
  });

  describe('properties', () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('trade' as const),
        side: fc.constantFrom('buy', 'sell'),
        qty: fc.integer({ min: 1, max: 50 }),
      }),
      fc.record({ kind: fc.constant('price' as const), cents: fc.integer({ min: 1, max: 50000 }) }),
    );

    it('position qty is the signed sum of market orders; cumulative filled qty never decreases per order', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 25 }), fc.integer({ min: 1, max: 4 }), async (steps, parts) => {
          const { sim } = makeSim({ startingCash: '1000000000', partialFills: parts });
          const rec = await record(sim);
          let expected = new Decimal(0);
          let cash = new Decimal('1000000000');
          for (const s of steps) {
            if (s.kind === 'price') {
              sim.setPrice('AAPL', new Decimal(s.cents).div(100).toFixed());
              continue;
            }
            const price = new Decimal(sim.referencePrice('AAPL'));
            await sim.submitOrder(order({ side: s.side as 'buy' | 'sell', qty: String(s.qty) }));
            const signed = s.side === 'buy' ? new Decimal(s.qty) : new Decimal(-s.qty);
            expected = expected.plus(signed);
            cash = cash.minus(signed.mul(price));
          }
          await sim.settle();
          const position = (await sim.listPositions()).find((p) => p.symbol === 'AAPL');
          expect(position?.qty ?? '0').toBe(expected.toFixed());
          expect((await sim.getAccount()).cash).toBe(cash.toFixed());

          const lastFilled = new Map<string, Decimal>();
          for (const u of rec.updates) {
            const filled = new Decimal(u.order.filledQty);
            const previous = lastFilled.get(u.order.id) ?? new Decimal(0);
            expect(filled.gte(previous)).toBe(true);
            lastFilled.set(u.order.id, filled);
          }
          const fills = rec.updates.filter((u) => u.execution !== undefined);
          expect(new Set(fills.map((u) => u.execution?.executionId)).size).toBe(fills.length);
          if (fills.length > 0) expect(fills[fills.length - 1].execution?.positionQty).toBe(expected.toFixed());
        }),
        { numRuns: 60 },
      );
    });
  });
});
