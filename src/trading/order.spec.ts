import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { InputValidationError } from '../common/domain-error';
import { buildNewOrder, differingTerms, OrderTerms, orderTermProblems, SubmitOrderCommand } from './order';
import { ORDER_TYPES, OrderType } from './order-status';

const sha24 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 24);

const NOW = new Date('2026-01-02T15:00:00.000Z');
const DEFAULTS = { strategyId: 'alpha_baseline', status: 'pending_new' as const };

const market: SubmitOrderCommand = {
  symbol: 'AAPL',
  side: 'buy',
  qty: '10',
  orderType: 'market',
  limitPrice: null,
  stopPrice: null,
  timeInForce: 'day',
};

describe('orderTermProblems', () => {
  /** Which prices each order type needs; the other price is forbidden. */
  const NEEDS: Record<OrderType, { limit: boolean; stop: boolean }> = {
    market: { limit: false, stop: false },
    limit: { limit: true, stop: false },
    stop: { limit: false, stop: true },
    stop_limit: { limit: true, stop: true },
    trailing_stop: { limit: false, stop: false },
  };

  const table: Array<[OrderType, boolean, boolean, string[]]> = [];
  for (const orderType of ORDER_TYPES) {
    for (const hasLimit of [false, true]) {
      for (const hasStop of [false, true]) {
        const bad: string[] = [];
        if (NEEDS[orderType].limit !== hasLimit) bad.push('limit_price');
        if (NEEDS[orderType].stop !== hasStop) bad.push('stop_price');
        table.push([orderType, hasLimit, hasStop, bad]);
      }
    }
  }

  it('covers every order type with every presence combination', () => {
    expect(table).toHaveLength(20);
  });

  it.each(table)('%s with limit=%p stop=%p → problems %j', (orderType, hasLimit, hasStop, bad) => {
    const problems = orderTermProblems({
      orderType,
      limitPrice: hasLimit ? '150.5' : null,
      stopPrice: hasStop ? '149' : null,
      trailPercent: orderType === 'trailing_stop' ? '1.5' : null,
    });
    expect(problems.map((p) => p.field)).toEqual(bad);
    for (const p of problems) {
      const needed = p.field === 'limit_price' ? NEEDS[orderType].limit : NEEDS[orderType].stop;
      expect(p.problems).toEqual([
        needed ? `is required for ${orderType} orders` : `must not be set for ${orderType} orders`,
      ]);
    }
  });

  it('the exact table', () => {
    const fields = (orderType: OrderType, limitPrice: string | null, stopPrice: string | null) =>
      orderTermProblems({ orderType, limitPrice, stopPrice }).map((p) => p.field);
    expect(fields('market', null, null)).toEqual([]);
    expect(fields('market', '1', null)).toEqual(['limit_price']);
    expect(fields('market', null, '1')).toEqual(['stop_price']);
    expect(fields('market', '1', '1')).toEqual(['limit_price', 'stop_price']);
    expect(fields('limit', null, null)).toEqual(['limit_price']);
    expect(fields('limit', '1', null)).toEqual([]);
    expect(fields('limit', null, '1')).toEqual(['limit_price', 'stop_price']);
    expect(fields('limit', '1', '1')).toEqual(['stop_price']);
    expect(fields('stop', null, null)).toEqual(['stop_price']);
    expect(fields('stop', '1', null)).toEqual(['limit_price', 'stop_price']);
    expect(fields('stop', null, '1')).toEqual([]);
    expect(fields('stop', '1', '1')).toEqual(['limit_price']);
    expect(fields('stop_limit', null, null)).toEqual(['limit_price', 'stop_price']);
    expect(fields('stop_limit', '1', null)).toEqual(['stop_price']);
    expect(fields('stop_limit', null, '1')).toEqual(['limit_price']);
    expect(fields('stop_limit', '1', '1')).toEqual([]);
  });
});

describe('buildNewOrder', () => {
  it('derives the client_order_id from the terms, the default strategy and the UTC date', () => {
    const order = buildNewOrder(market, DEFAULTS, NOW);
    expect(order.clientOrderId).toBe(sha24('AAPL|buy|10|None|None|alpha_baseline|2026-01-02'));
    expect(order).toEqual({
      symbol: 'AAPL',
      side: 'buy',
      qty: '10',
      orderType: 'market',
      limitPrice: null,
      stopPrice: null,
      timeInForce: 'day',
      trailPrice: null,
      trailPercent: null,
      extendedHours: false,
      orderClass: 'simple',
      takeProfitLimitPrice: null,
      stopLossStopPrice: null,
      stopLossLimitPrice: null,
      legType: null,
      strategyId: 'alpha_baseline',
      clientOrderId: order.clientOrderId,
      status: 'pending_new',
      createdAt: NOW,
      metadata: {},
    });
  });

  it("uses the caller's strategy when given, in the hash too", () => {
    const order = buildNewOrder({ ...market, strategyId: 'momo_v2' }, DEFAULTS, NOW);
    expect(order.strategyId).toBe('momo_v2');
    expect(order.clientOrderId).toBe(sha24('AAPL|buy|10|None|None|momo_v2|2026-01-02'));
  });

  it('uses the default strategy of the caller-supplied defaults when absent', () => {
    const order = buildNewOrder(market, { ...DEFAULTS, strategyId: 'house' }, NOW);
    expect(order.strategyId).toBe('house');
    expect(order.clientOrderId).toBe(sha24('AAPL|buy|10|None|None|house|2026-01-02'));
  });

  it('renders prices in the hash input', () => {
    const order = buildNewOrder(
      { ...market, side: 'sell', orderType: 'stop_limit', limitPrice: '101.25', stopPrice: '100' },
      DEFAULTS,
      NOW,
    );
    expect(order.clientOrderId).toBe(sha24('AAPL|sell|10|101.25|100|alpha_baseline|2026-01-02'));
    expect(order.limitPrice).toBe('101.25');
    expect(order.stopPrice).toBe('100');
  });

  it("uses the caller's client_order_id when given, over the idempotency key", () => {
    const order = buildNewOrder({ ...market, clientOrderId: 'my-own-id-1', idempotencyKey: 'key-1' }, DEFAULTS, NOW);
    expect(order.clientOrderId).toBe('my-own-id-1');
  });

  it('an idempotency key changes the id and lands in metadata', () => {
    const plain = buildNewOrder(market, DEFAULTS, NOW);
    const keyed = buildNewOrder({ ...market, idempotencyKey: 'key-1' }, DEFAULTS, NOW);
    const keyed2 = buildNewOrder({ ...market, idempotencyKey: 'key-2' }, DEFAULTS, NOW);
    expect(keyed.clientOrderId).toBe(sha24('AAPL|buy|10|None|None|alpha_baseline|2026-01-02|key-1'));
    expect(keyed.clientOrderId).not.toBe(plain.clientOrderId);
    expect(keyed2.clientOrderId).not.toBe(keyed.clientOrderId);
    expect(keyed.metadata).toEqual({ idempotency_key: 'key-1' });
    expect(plain.metadata).toEqual({});
  });

  it('the same command on the same UTC day is the same order; the next day is another', () => {
    const a = buildNewOrder(market, DEFAULTS, new Date('2026-01-02T00:00:00.000Z'));
    const b = buildNewOrder(market, DEFAULTS, new Date('2026-01-02T23:59:59.999Z'));
    const c = buildNewOrder(market, DEFAULTS, new Date('2026-01-03T00:00:00.000Z'));
    expect(b.clientOrderId).toBe(a.clientOrderId);
    expect(c.clientOrderId).not.toBe(a.clientOrderId);
  });

  it('takes the status from the defaults', () => {
    expect(buildNewOrder(market, { ...DEFAULTS, status: 'dry_run' }, NOW).status).toBe('dry_run');
  });

  it('refuses inconsistent terms with an InputValidationError naming the fields', () => {
    let caught: unknown;
    try {
      buildNewOrder({ ...market, orderType: 'stop_limit' }, DEFAULTS, NOW);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(InputValidationError);
    expect((caught as InputValidationError).fields.map((f) => f.field)).toEqual(['limit_price', 'stop_price']);
  });
});

describe('differingTerms', () => {
  const terms: OrderTerms = {
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    orderType: 'limit',
    limitPrice: '150.5',
    stopPrice: null,
    timeInForce: 'day',
    strategyId: 'alpha_baseline',
  };

  it('is empty for identical terms', () => {
    expect(differingTerms(terms, { ...terms })).toEqual([]);
  });

  it.each<[Partial<OrderTerms>, string[]]>([
    [{ symbol: 'MSFT' }, ['symbol']],
    [{ side: 'sell' }, ['side']],
    [{ qty: '11' }, ['qty']],
    [{ orderType: 'stop_limit' }, ['order_type']],
    [{ limitPrice: '150.51' }, ['limit_price']],
    [{ limitPrice: null }, ['limit_price']],
    [{ stopPrice: '149' }, ['stop_price']],
    [{ timeInForce: 'gtc' }, ['time_in_force']],
    [{ strategyId: 'other' }, ['strategy_id']],
    [{ qty: '20', limitPrice: '151', timeInForce: 'ioc' }, ['qty', 'limit_price', 'time_in_force']],
  ])('%j → %j', (change, expected) => {
    expect(differingTerms(terms, { ...terms, ...change })).toEqual(expected);
    expect(differingTerms({ ...terms, ...change }, terms)).toEqual(expected);
  });

  it('lists exactly the changed fields (property)', () => {
    const apiName: Record<keyof OrderTerms, string> = {
      symbol: 'symbol',
      side: 'side',
      qty: 'qty',
      orderType: 'order_type',
      limitPrice: 'limit_price',
      stopPrice: 'stop_price',
      timeInForce: 'time_in_force',
      strategyId: 'strategy_id',
      trailPrice: 'trail_price',
      trailPercent: 'trail_percent',
      extendedHours: 'extended_hours',
      orderClass: 'order_class',
      takeProfitLimitPrice: 'take_profit.limit_price',
      stopLossStopPrice: 'stop_loss.stop_price',
      stopLossLimitPrice: 'stop_loss.limit_price',
    };
    const other: OrderTerms = {
      symbol: 'MSFT',
      side: 'sell',
      qty: '99',
      orderType: 'stop',
      limitPrice: null,
      stopPrice: '140',
      timeInForce: 'gtc',
      strategyId: 'momo_v2',
      trailPrice: '2',
      trailPercent: '1.5',
      extendedHours: true,
      orderClass: 'bracket',
      takeProfitLimitPrice: '160',
      stopLossStopPrice: '140',
      stopLossLimitPrice: '139',
    };
    const keys = Object.keys(apiName) as Array<keyof OrderTerms>;
    fc.assert(
      fc.property(fc.subarray(keys), (changed) => {
        const b: OrderTerms = { ...terms };
        for (const k of changed) (b as unknown as Record<string, unknown>)[k] = other[k];
        const expected = keys.filter((k) => changed.includes(k)).map((k) => apiName[k]);
        expect(differingTerms(terms, b)).toEqual(expected);
      }),
    );
  });
});

describe('orderTermProblems: trailing stops and extended hours', () => {
  const trailing = { orderType: 'trailing_stop' as OrderType, limitPrice: null, stopPrice: null };

  it.each([
    [{ trailPrice: '2' }, []],
    [{ trailPercent: '1.5' }, []],
    [{}, ['trail_price', 'trail_percent']],
    [{ trailPrice: null, trailPercent: null }, ['trail_price', 'trail_percent']],
    [{ trailPrice: '2', trailPercent: '1.5' }, ['trail_price', 'trail_percent']],
    [{ trailPrice: '2', limitPrice: '150' }, ['limit_price']],
    [{ trailPrice: '2', stopPrice: '150' }, ['stop_price']],
    [{ trailPrice: '2', extendedHours: true, timeInForce: 'day' }, ['extended_hours']],
  ] as Array<[Record<string, unknown>, string[]]>)('trailing_stop %j → %j', (change, fields) => {
    expect(orderTermProblems({ ...trailing, ...change }).map((p) => p.field)).toEqual(fields);
  });

  it('names both trail fields, saying what is wrong', () => {
    expect(orderTermProblems(trailing)[0].problems[0]).toMatch(/one of trail_price and trail_percent is required/);
    expect(orderTermProblems({ ...trailing, trailPrice: '1', trailPercent: '1' })[0].problems[0]).toMatch(/only one/);
  });

  it.each(['market', 'limit', 'stop', 'stop_limit'] as OrderType[])('a trail on a %s order is refused', (orderType) => {
    const problems = orderTermProblems({
      orderType,
      limitPrice: orderType.includes('limit') ? '150' : null,
      stopPrice: orderType.includes('stop') ? '149' : null,
      trailPrice: '1',
      trailPercent: '2',
    });
    expect(problems.map((p) => p.field)).toEqual(['trail_price', 'trail_percent']);
  });

  it('extended_hours: only limit day orders (property over every type and time in force)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ORDER_TYPES),
        fc.constantFrom('day', 'gtc', 'ioc', 'fok' as const),
        fc.boolean(),
        (orderType, timeInForce, extendedHours) => {
          const problems = orderTermProblems({
            orderType,
            limitPrice: orderType === 'limit' || orderType === 'stop_limit' ? '150' : null,
            stopPrice: orderType === 'stop' || orderType === 'stop_limit' ? '149' : null,
            trailPercent: orderType === 'trailing_stop' ? '1' : null,
            timeInForce,
            extendedHours,
          });
          const refused = extendedHours && !(orderType === 'limit' && timeInForce === 'day');
          expect(problems.map((p) => p.field)).toEqual(refused ? ['extended_hours'] : []);
        },
      ),
    );
  });
});
