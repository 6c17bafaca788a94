import fc from 'fast-check';
import {
  checkCircuitBreaker,
  checkKillSwitch,
  checkReconciliationGate,
  checkRiskLimits,
  CircuitBreakerView,
  ExposureSnapshot,
  firstDenial,
  isReduceOnly,
  OrderIntent,
  projectedPosition,
  ReconciliationGateView,
  referencePrice,
  RiskInputs,
  RiskLimits,
} from './pre-trade-checks';
import { limitDenial } from './pre-trade-check';

const flat: ExposureSnapshot = { positionQty: '0', openBuyQty: '0', openSellQty: '0', strategyOpenOrders: 0 };
const order = (o: Partial<OrderIntent> = {}): OrderIntent => ({
  symbol: 'AAPL',
  side: 'buy',
  qty: '10',
  orderType: 'market',
  limitPrice: null,
  stopPrice: null,
  strategyId: 's1',
  ...o,
});
const limits: RiskLimits = {
  maxPositionSize: '1000',
  maxPositionPct: '0.2',
  dailyLossLimit: '5000',
  maxOpenOrdersPerStrategy: 100,
};
const risk = (r: Partial<RiskInputs> = {}): RiskInputs => ({
  order: order(),
  exposure: flat,
  reduceOnly: false,
  referencePrice: '100',
  equity: '1000000',
  dailyPnl: '0',
  limits,
  ...r,
});

describe('isReduceOnly', () => {
  it('sell when long, never past flat, counting open sells', () => {
    const long = { ...flat, positionQty: '100' };
    expect(isReduceOnly({ side: 'sell', qty: '100' }, long)).toBe(true);
    expect(isReduceOnly({ side: 'sell', qty: '101' }, long)).toBe(false);
    expect(isReduceOnly({ side: 'sell', qty: '60' }, { ...long, openSellQty: '40' })).toBe(true);
    expect(isReduceOnly({ side: 'sell', qty: '61' }, { ...long, openSellQty: '40' })).toBe(false);
    expect(isReduceOnly({ side: 'buy', qty: '1' }, long)).toBe(false);
  });

  it('buy when short, never past flat, counting open buys', () => {
    const short = { ...flat, positionQty: '-50' };
    expect(isReduceOnly({ side: 'buy', qty: '50' }, short)).toBe(true);
    expect(isReduceOnly({ side: 'buy', qty: '51' }, short)).toBe(false);
    expect(isReduceOnly({ side: 'buy', qty: '30' }, { ...short, openBuyQty: '21' })).toBe(false);
    expect(isReduceOnly({ side: 'sell', qty: '1' }, short)).toBe(false);
  });

  it('nothing is reduce-only when flat', () => {
    expect(isReduceOnly({ side: 'buy', qty: '1' }, flat)).toBe(false);
    expect(isReduceOnly({ side: 'sell', qty: '1' }, flat)).toBe(false);
  });

  it('counts the resting exit legs on its side when they were read; they never move the projection', () => {
    const long = { ...flat, positionQty: '100', openSellQty: '40', exitLegSellQty: '50', exitLegBuyQty: '70' };
    expect(isReduceOnly({ side: 'sell', qty: '10' }, long)).toBe(true);
    expect(isReduceOnly({ side: 'sell', qty: '11' }, long)).toBe(false);
    expect(isReduceOnly({ side: 'sell', qty: '11' }, { ...long, exitLegSellQty: undefined })).toBe(true);
    const short = { ...flat, positionQty: '-50', exitLegBuyQty: '50', exitLegSellQty: '999' };
    expect(isReduceOnly({ side: 'buy', qty: '1' }, short)).toBe(false);
    expect(isReduceOnly({ side: 'buy', qty: '1' }, { ...short, exitLegBuyQty: '49' })).toBe(true);
    expect(projectedPosition({ side: 'sell', qty: '10' }, long).toFixed()).toBe('50');
  });

  it('with the exit legs counted, whatever of them fills too never takes the position past flat (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        (pos, openSell, legs, qty) => {
          const e = { ...flat, positionQty: String(pos), openSellQty: String(openSell), exitLegSellQty: String(legs) };
          if (!isReduceOnly({ side: 'sell', qty: String(qty) }, e)) return;
          expect(pos - openSell - legs - qty).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });

  it('a reduce-only order never takes the projected position past flat or grows it (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom('buy' as const, 'sell' as const),
        (pos, openBuy, openSell, qty, side) => {
          const e = { ...flat, positionQty: String(pos), openBuyQty: String(openBuy), openSellQty: String(openSell) };
          if (!isReduceOnly({ side, qty: String(qty) }, e)) return;
          const after = projectedPosition({ side, qty: String(qty) }, e);
          expect(after.abs().lte(Math.abs(pos))).toBe(true);
          expect(after.isZero() || after.isPositive() === pos > 0).toBe(true);
        },
      ),
    );
  });
});

describe('checkKillSwitch', () => {
  const ks = { readable: true, engaged: false, reason: null, engagedAt: null, engagedBy: null };
  it('passes when released, refuses when engaged or unreadable', () => {
    expect(checkKillSwitch(ks)).toBeNull();
    expect(checkKillSwitch({ ...ks, engaged: true, reason: 'halt', engagedBy: 'ops' })).toMatchObject({
      code: 'KILL_SWITCH_ENGAGED',
      status: 503,
      details: { engaged_by: 'ops' },
    });
    expect(checkKillSwitch({ ...ks, readable: false })).toMatchObject({
      code: 'SAFETY_STATE_UNAVAILABLE',
      status: 503,
    });
  });
});

describe('checkCircuitBreaker', () => {
  const cb: CircuitBreakerView = {
    readable: true,
    tripped: false,
    reasonCode: null,
    reason: null,
    trippedAt: null,
    trippedBy: null,
  };
  it('refuses exposure when tripped or unreadable; reduce-only passes both', () => {
    expect(checkCircuitBreaker(cb, false)).toBeNull();
    const tripped = { ...cb, tripped: true, reasonCode: 'DAILY_LOSS', reason: 'loss 5001' };
    expect(checkCircuitBreaker(tripped, false)).toMatchObject({ code: 'CIRCUIT_BREAKER_TRIPPED', status: 503 });
    expect(checkCircuitBreaker({ ...cb, readable: false }, false)).toMatchObject({
      code: 'SAFETY_STATE_UNAVAILABLE',
    });
    expect(checkCircuitBreaker(tripped, true)).toBeNull();
    expect(checkCircuitBreaker({ ...cb, readable: false }, true)).toBeNull();
  });
});

describe('checkReconciliationGate', () => {
  const gate: ReconciliationGateView = { readable: true, open: true, reason: null, blockedSymbols: new Map() };
  it('closed gate: exposure refused, reduce-only passes', () => {
    const closed = { ...gate, open: false, reason: 'broker unreachable' };
    expect(checkReconciliationGate(closed, 'AAPL', false)).toMatchObject({
      code: 'RECONCILIATION_GATE_REDUCE_ONLY',
      status: 503,
    });
    expect(checkReconciliationGate(closed, 'AAPL', false)!.message).toContain('broker unreachable');
    expect(checkReconciliationGate(closed, 'AAPL', true)).toBeNull();
  });

  it('quarantined symbol: exposure refused in that symbol only', () => {
    const q = {
      ...gate,
      blockedSymbols: new Map([['TSLA', { code: 'SYMBOL_QUARANTINED', reason: 'orphan order b-1' }]]),
    };
    expect(checkReconciliationGate(q, 'TSLA', false)).toMatchObject({ code: 'SYMBOL_QUARANTINED' });
    expect(checkReconciliationGate(q, 'AAPL', false)).toBeNull();
    expect(checkReconciliationGate(q, 'TSLA', true)).toBeNull();
  });

  it('unreadable: fail closed for exposure', () => {
    expect(checkReconciliationGate({ ...gate, readable: false }, 'AAPL', false)).toMatchObject({
      code: 'SAFETY_STATE_UNAVAILABLE',
    });
  });
});

describe('checkRiskLimits', () => {
  it('passes well inside every limit', () => {
    expect(checkRiskLimits(risk())).toBeNull();
  });

  it('MAX_POSITION_SIZE: position + open same side + order; equal passes, one share more fails', () => {
    const e = { ...flat, positionQty: '600', openBuyQty: '300' };
    expect(checkRiskLimits(risk({ exposure: e, order: order({ qty: '100' }) }))).toBeNull();
    expect(checkRiskLimits(risk({ exposure: e, order: order({ qty: '101' }) }))).toMatchObject({
      code: 'MAX_POSITION_SIZE',
      status: 422,
      details: { projected_position: '1001', limit: '1000' },
    });
  });

  it('MAX_POSITION_SIZE counts short exposure too', () => {
    const e = { ...flat, positionQty: '-900', openSellQty: '50' };
    expect(checkRiskLimits(risk({ exposure: e, order: order({ side: 'sell', qty: '50' }) }))).toBeNull();
    expect(checkRiskLimits(risk({ exposure: e, order: order({ side: 'sell', qty: '51' }) }))).toMatchObject({
      code: 'MAX_POSITION_SIZE',
    });
  });

  it('reduce-only orders are exempt from position, equity and loss limits', () => {
    const e = { ...flat, positionQty: '5000' };
    const r = risk({
      exposure: e,
      order: order({ side: 'sell', qty: '100' }),
      reduceOnly: true,
      equity: null,
      dailyPnl: '-100000',
    });
    expect(checkRiskLimits(r)).toBeNull();
  });

  it('MAX_POSITION_PCT: value of the projected position against equity; equal passes', () => {
    // 100 shares × 100 = 10,000 = 20 % of 50,000.
    expect(checkRiskLimits(risk({ order: order({ qty: '100' }), equity: '50000' }))).toBeNull();
    expect(checkRiskLimits(risk({ order: order({ qty: '100' }), equity: '49999.99' }))).toMatchObject({
      code: 'MAX_POSITION_PCT',
      status: 422,
    });
    expect(checkRiskLimits(risk({ equity: '0' }))).toMatchObject({ code: 'MAX_POSITION_PCT' });
  });

  it('unknown equity or daily P&L refuses exposure as unavailable (fail closed)', () => {
    expect(checkRiskLimits(risk({ equity: null }))).toMatchObject({ code: 'SAFETY_STATE_UNAVAILABLE', status: 503 });
    expect(checkRiskLimits(risk({ dailyPnl: null }))).toMatchObject({ code: 'SAFETY_STATE_UNAVAILABLE' });
  });

  it('DAILY_LOSS_LIMIT: refused once the loss reaches the limit', () => {
    expect(checkRiskLimits(risk({ dailyPnl: '-4999.99' }))).toBeNull();
    expect(checkRiskLimits(risk({ dailyPnl: '-5000' }))).toMatchObject({ code: 'DAILY_LOSS_LIMIT', status: 422 });
    expect(checkRiskLimits(risk({ dailyPnl: '250' }))).toBeNull();
  });

  it('MAX_OPEN_ORDERS: the 100th open order may be added, the 101st not; applies to reduce-only too', () => {
    expect(checkRiskLimits(risk({ exposure: { ...flat, strategyOpenOrders: 99 } }))).toBeNull();
    expect(checkRiskLimits(risk({ exposure: { ...flat, strategyOpenOrders: 100 } }))).toMatchObject({
      code: 'MAX_OPEN_ORDERS',
    });
    const e = { ...flat, positionQty: '10', strategyOpenOrders: 100 };
    expect(
      checkRiskLimits(risk({ exposure: e, reduceOnly: true, order: order({ side: 'sell', qty: '5' }) })),
    ).toMatchObject({ code: 'MAX_OPEN_ORDERS' });
  });

  it('the position-size verdict agrees with an independent computation (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2_000, max: 2_000 }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 1, max: 2_000 }),
        fc.constantFrom('buy' as const, 'sell' as const),
        (pos, ob, os, qty, side) => {
          const e = { ...flat, positionQty: String(pos), openBuyQty: String(ob), openSellQty: String(os) };
          const o = order({ side, qty: String(qty) });
          const denial = checkRiskLimits(risk({ exposure: e, order: o, referencePrice: null }));
          const projected = side === 'buy' ? pos + ob + qty : pos - os - qty;
          expect(denial?.code === 'MAX_POSITION_SIZE').toBe(Math.abs(projected) > 1000);
        },
      ),
    );
  });
});

describe('referencePrice', () => {
  it('limit, then stop, then market', () => {
    expect(referencePrice(order({ orderType: 'limit', limitPrice: '10' }), '11')).toBe('10');
    expect(referencePrice(order({ orderType: 'stop_limit', limitPrice: '10', stopPrice: '9' }), '11')).toBe('10');
    expect(referencePrice(order({ orderType: 'stop', stopPrice: '9' }), '11')).toBe('9');
    expect(referencePrice(order(), '11')).toBe('11');
    expect(referencePrice(order(), null)).toBeNull();
  });
});

describe('firstDenial', () => {
  it('reports the first refusal and stops there', () => {
    const third = jest.fn(() => null);
    const result = firstDenial([
      () => null,
      () => limitDenial('FAT_FINGER_MAX_QTY', 'too many'),
      () => limitDenial('MAX_OPEN_ORDERS', 'later'),
      third,
    ]);
    expect(result?.code).toBe('FAT_FINGER_MAX_QTY');
    expect(third).not.toHaveBeenCalled();
  });
});
