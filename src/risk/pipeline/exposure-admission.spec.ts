/**
 * Live admission under the exposure counters (docs/risk-and-safety.md#how-limits-stay-atomic):
 * each order's insert counts it in its symbol's counter row and locks it; the
 * checks judge exposureBefore(order, held), with the strategy's open orders as
 * read without a lock (possibly stale); the commit takes the strategy's slot
 * and fails past the limit; a refusal rolls the count back. The row locks
 * serialize the judging in lock order, so this models concurrent orders as the
 * sequence in which they take the locks (any permutation) and checks that no
 * order ever passes a limit that the orders committed before it leave no room
 * for — two orders can never both squeeze under a limit.
 */
import Decimal from 'decimal.js';
import fc from 'fast-check';
import {
  checkRiskLimits,
  ExposureSnapshot,
  exposureBefore,
  exposureWith,
  isReduceOnly,
  OrderIntent,
  projectedPosition,
  RiskLimits,
} from './pre-trade-checks';

const intent = (side: 'buy' | 'sell', qty: number): OrderIntent => ({
  symbol: 'AAPL',
  side,
  qty: String(qty),
  orderType: 'limit',
  limitPrice: '10',
  stopPrice: null,
  strategyId: 's1',
});

/** The risk-limit verdict the door asks for (gates open, equity ample, no loss today). */
function admits(order: OrderIntent, exposure: ExposureSnapshot, limits: RiskLimits): boolean {
  return (
    checkRiskLimits({
      order,
      exposure,
      reduceOnly: isReduceOnly(order, exposure),
      referencePrice: order.limitPrice,
      equity: '1000000000',
      dailyPnl: '0',
      limits,
    }) === null
  );
}

/**
 * One order's unit of work: count it in the symbol's row (the insert's trigger), judge what stood
 * before it with the strategy count as read (`staleOpenOrders`), then the commit takes the strategy
 * slot against the real count; keep or roll back.
 */
function admitUnderLock(
  order: OrderIntent,
  counters: ExposureSnapshot,
  limits: RiskLimits,
  staleOpenOrders = counters.strategyOpenOrders,
): { admitted: boolean; counters: ExposureSnapshot } {
  const held = exposureWith(order, counters);
  const judged = admits(order, { ...exposureBefore(order, held), strategyOpenOrders: staleOpenOrders }, limits);
  const committed = judged && counters.strategyOpenOrders + 1 <= limits.maxOpenOrdersPerStrategy;
  return {
    admitted: committed,
    counters: committed ? { ...held, strategyOpenOrders: counters.strategyOpenOrders + 1 } : counters,
  };
}

const snapshot = fc.record({
  positionQty: fc.integer({ min: -300, max: 300 }).map(String),
  openBuyQty: fc.integer({ min: 0, max: 200 }).map(String),
  openSellQty: fc.integer({ min: 0, max: 200 }).map(String),
  strategyOpenOrders: fc.integer({ min: 0, max: 30 }),
});
const orderArb = fc.tuple(fc.constantFrom<'buy' | 'sell'>('buy', 'sell'), fc.integer({ min: 1, max: 120 }));
const limitsArb = fc.record({
  maxPositionSize: fc.integer({ min: 1, max: 500 }).map(String),
  maxPositionPct: fc.constant('1'),
  dailyLossLimit: fc.constant('1000'),
  maxOpenOrdersPerStrategy: fc.integer({ min: 1, max: 40 }),
});

describe('exposure admission under the counter locks', () => {
  it('exposureBefore undoes exposureWith', () => {
    fc.assert(
      fc.property(snapshot, orderArb, (s, [side, qty]) => {
        const o = intent(side, qty);
        const back = exposureBefore(o, exposureWith(o, s));
        expect(new Decimal(back.openBuyQty).eq(s.openBuyQty)).toBe(true);
        expect(new Decimal(back.openSellQty).eq(s.openSellQty)).toBe(true);
        expect(back.positionQty).toBe(s.positionQty);
      }),
    );
  });

  it('judging the held counters minus the order is judging the exposure before it', () => {
    fc.assert(
      fc.property(snapshot, orderArb, limitsArb, (s, [side, qty], limits) => {
        const o = intent(side, qty);
        expect(admitUnderLock(o, s, limits).admitted).toBe(admits(o, s, limits));
      }),
    );
  });

  it('in any lock order, with stale strategy counts, every admitted order fits the limits given the orders admitted before it', () => {
    const step = fc.tuple(orderArb, fc.integer({ min: -10, max: 10 }));
    fc.assert(
      fc.property(snapshot, fc.array(step, { minLength: 1, maxLength: 25 }), limitsArb, (start, steps, limits) => {
        let counters = start;
        for (const [[side, qty], staleness] of steps) {
          const o = intent(side, qty);
          const before = counters;
          const stale = Math.max(0, counters.strategyOpenOrders + staleness);
          const r = admitUnderLock(o, counters, limits, stale);
          counters = r.counters;
          if (!r.admitted) continue;
          // The strategy's open orders never pass the limit through this order.
          expect(before.strategyOpenOrders).toBeLessThan(limits.maxOpenOrdersPerStrategy);
          // An order that adds exposure leaves the projected position within the size limit.
          if (!isReduceOnly(o, before)) {
            expect(projectedPosition(o, before).abs().lte(limits.maxPositionSize)).toBe(true);
          }
        }
      }),
    );
  });

  it('N identical buys against a size limit: exactly floor(limit / qty) pass, whatever the order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 400 }),
        (n, qty, limit) => {
          const limits: RiskLimits = {
            maxPositionSize: String(limit),
            maxPositionPct: '1',
            dailyLossLimit: '1000',
            maxOpenOrdersPerStrategy: 1000,
          };
          let counters: ExposureSnapshot = {
            positionQty: '0',
            openBuyQty: '0',
            openSellQty: '0',
            strategyOpenOrders: 0,
          };
          let passed = 0;
          for (let i = 0; i < n; i++) {
            const r = admitUnderLock(intent('buy', qty), counters, limits);
            counters = r.counters;
            if (r.admitted) passed++;
          }
          expect(passed).toBe(Math.min(n, Math.floor(limit / qty)));
          expect(new Decimal(counters.openBuyQty).toNumber()).toBe(passed * qty);
        },
      ),
    );
  });
});
