/**
 * The guarded insert (docs/risk-and-safety.md#how-limits-stay-atomic): an
 * order judged against the committed counters is inserted under a guard the
 * insert's trigger checks on the row it holds. The guard is sound when every
 * state of the counters it admits is one the checks admit the order in too,
 * whatever other orders, fills, cancels and replacements did between the read
 * and the insert; and it is useful when it admits the state the order was
 * judged in (nothing moved in between).
 */
import Decimal from 'decimal.js';
import fc from 'fast-check';
import {
  checkRiskLimits,
  ExposureGuard,
  exposureGuard,
  ExposureSnapshot,
  exposureWith,
  guardAdmits,
  guardSetting,
  isReduceOnly,
  OrderIntent,
  RiskInputs,
  RiskLimits,
} from './pre-trade-checks';

// Small ranges, so that the generated states often sit on a limit's boundary.
const qty = fc.integer({ min: 1, max: 10 });
const shares = fc.integer({ min: 0, max: 20 });
const position = fc.integer({ min: -20, max: 20 });

const arbLimits: fc.Arbitrary<RiskLimits> = fc.record({
  maxPositionSize: fc.integer({ min: 1, max: 30 }).map(String),
  maxPositionPct: fc.constantFrom('0.05', '0.1', '0.25', '1'),
  dailyLossLimit: fc.constant('1000'),
  maxOpenOrdersPerStrategy: fc.constant(1000),
});

const arbOrder: fc.Arbitrary<OrderIntent> = fc.record({
  symbol: fc.constant('AAPL'),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  qty: qty.map(String),
  orderType: fc.constantFrom('market' as const, 'limit' as const),
  limitPrice: fc.constantFrom('10', '12.5', '99.99'),
  stopPrice: fc.constant(null),
  strategyId: fc.constant('s1'),
});

const arbExposure: fc.Arbitrary<ExposureSnapshot> = fc.record({
  positionQty: position.map(String),
  openBuyQty: shares.map(String),
  openSellQty: shares.map(String),
  strategyOpenOrders: fc.constant(0),
  exitLegBuyQty: fc.option(shares.map(String), { nil: undefined }),
  exitLegSellQty: fc.option(shares.map(String), { nil: undefined }),
});

function inputs(
  order: OrderIntent,
  exposure: ExposureSnapshot,
  limits: RiskLimits,
  equity: string | null,
  reduceOnly = isReduceOnly(order, exposure),
): RiskInputs {
  return {
    order,
    exposure,
    reduceOnly,
    referencePrice: order.orderType === 'limit' ? order.limitPrice : '11',
    equity,
    dailyPnl: '0',
    limits,
  };
}

const arbEquity = fc.option(fc.constantFrom('250', '1000', '2500', '10000'), { nil: null });

describe('exposure guard', () => {
  it('is sound: every counter state it admits is one the checks admit the order in', () => {
    fc.assert(
      fc.property(
        arbOrder,
        arbExposure,
        arbLimits,
        arbEquity,
        arbExposure,
        fc.nat({ max: 10 }),
        fc.nat({ max: 10 }),
        (order, judged, limits, equity, later, pairedBuy, pairedSell) => {
          // Judged as an order that adds exposure (no exemption), as the fast path judges it.
          const first = inputs(order, judged, limits, equity, false);
          const guard = exposureGuard(first);
          if (!guard || checkRiskLimits(first)) return;
          // The counters once the order is counted, as the trigger holds them: any state at all.
          const after = exposureWith(order, later);
          if (!guardAdmits(guard, order, after)) return;
          // What the checks would judge under the lock: the counters without the order, with replacements
          // paired (never more than the counters hold) and any exit legs read.
          const before: ExposureSnapshot = {
            ...later,
            openBuyQty: Decimal.max(new Decimal(later.openBuyQty).minus(pairedBuy), 0).toFixed(),
            openSellQty: Decimal.max(new Decimal(later.openSellQty).minus(pairedSell), 0).toFixed(),
          };
          expect(checkRiskLimits(inputs(order, before, limits, equity))).toBeNull();
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('admits the state the order was judged in when nothing moved (but for other open orders on its side while the position is on the other)', () => {
    fc.assert(
      fc.property(arbOrder, arbExposure, arbLimits, arbEquity, (order, judged, limits, equity) => {
        const position = new Decimal(judged.positionQty);
        const otherSide = order.side === 'buy' ? position.lt(0) : position.gt(0);
        const ownOpen = order.side === 'buy' ? judged.openBuyQty : judged.openSellQty;
        if (otherSide && ownOpen !== '0') return;
        const first = inputs(order, judged, limits, equity, false);
        const guard = exposureGuard(first);
        if (!guard || checkRiskLimits(first)) return;
        expect(guardAdmits(guard, order, exposureWith(order, judged))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('is given whenever the limits can be judged: always unpriced, priced only with the equity', () => {
    fc.assert(
      fc.property(arbOrder, arbExposure, arbLimits, arbEquity, (order, judged, limits, equity) => {
        const guard = exposureGuard(inputs(order, judged, limits, equity, false));
        expect(guard === null).toBe(equity === null);
      }),
    );
  });

  it('sets what the trigger reads: max_size|price|limit_value', () => {
    const guard: ExposureGuard = { maxSize: '500', price: '12.5', limitValue: '2500' };
    expect(guardSetting(guard)).toBe('500|12.5|2500');
    expect(guardSetting({ maxSize: '500', price: null, limitValue: null })).toBe('500||');
  });
});
