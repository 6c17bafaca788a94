import { Decimal } from '../../common/decimal';
import type { BrokerOrderRequest } from '../broker-client.port';
import type { SimBrokerClient } from './sim-broker.client';
import { makeSim, order, record, rejection } from './sim-broker.spec-helpers';
import { splitQuantity } from './sim-order';

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
      // The short is marked at the reference price; equity = cash + long + short.
      expect(account).toMatchObject({ longMarketValue: '0', shortMarketValue: '-800' });
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
});
