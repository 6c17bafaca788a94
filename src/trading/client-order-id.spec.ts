import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { ClientOrderIdInput, clientOrderIdHashInput, generateClientOrderId, utcTradeDate } from './client-order-id';

/** The formula of docs/api.md#client_order_id-and-idempotency, computed independently of the code under test. */
const sha24 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 24);

const AT = new Date('2026-01-02T15:00:00.000Z');

const base: ClientOrderIdInput = {
  symbol: 'AAPL',
  side: 'buy',
  qty: '10',
  limitPrice: null,
  stopPrice: null,
  strategyId: 'alpha_baseline',
  at: AT,
};

describe('client_order_id (docs/api.md#client_order_id-and-idempotency)', () => {
  describe('fixed vectors', () => {
    const vectors: Array<[string, ClientOrderIdInput, string]> = [
      ['market order', base, 'AAPL|buy|10|None|None|alpha_baseline|2026-01-02'],
      ['limit order', { ...base, limitPrice: '150.5' }, 'AAPL|buy|10|150.5|None|alpha_baseline|2026-01-02'],
      ['stop order', { ...base, side: 'sell', stopPrice: '99' }, 'AAPL|sell|10|None|99|alpha_baseline|2026-01-02'],
      [
        'stop_limit order',
        { ...base, side: 'sell', qty: '5', limitPrice: '101.25', stopPrice: '100' },
        'AAPL|sell|5|101.25|100|alpha_baseline|2026-01-02',
      ],
      [
        'idempotency key appended',
        { ...base, idempotencyKey: 'key-1' },
        'AAPL|buy|10|None|None|alpha_baseline|2026-01-02|key-1',
      ],
      ['another strategy', { ...base, strategyId: 'momo_v2' }, 'AAPL|buy|10|None|None|momo_v2|2026-01-02'],
    ];

    it.each(vectors)('%s renders the documented hash input', (_name, input, expected) => {
      expect(clientOrderIdHashInput(input)).toBe(expected);
    });

    it.each(vectors)('%s hashes to the first 24 hex chars of sha256(input)', (_name, input, expected) => {
      expect(generateClientOrderId(input)).toBe(sha24(expected));
    });

    // Literal values: a change of formula (separator, order of terms, hash, length) fails here.
    it.each<[string, ClientOrderIdInput, string]>([
      ['market', base, '8dc4123d848880c47d296745'],
      ['limit 150.5', { ...base, limitPrice: '150.5' }, '0980c674c46b7db371043ec5'],
      [
        'stop_limit',
        { ...base, side: 'sell', qty: '5', limitPrice: '101.25', stopPrice: '100' },
        'e4ac901322bd5d38e6dafda6',
      ],
      ['idempotency key', { ...base, idempotencyKey: 'key-1' }, '01bc659d00d0b67d5b78965e'],
      ['next trade date', { ...base, at: new Date('2026-01-03T09:30:00.000Z') }, '9b2961d9bf64e2b12d70ad27'],
    ])('%s has the pinned id', (_name, input, expected) => {
      expect(generateClientOrderId(input)).toBe(expected);
    });

    it('an absent idempotency key (undefined, null) leaves the input unchanged', () => {
      const plain = generateClientOrderId(base);
      expect(generateClientOrderId({ ...base, idempotencyKey: undefined })).toBe(plain);
      expect(generateClientOrderId({ ...base, idempotencyKey: null })).toBe(plain);
      expect(generateClientOrderId({ ...base, idempotencyKey: 'key-1' })).not.toBe(plain);
    });
  });

  describe('UTC trade date', () => {
    it('the last millisecond of a UTC day and the first of the next are different trade dates', () => {
      const late = { ...base, at: new Date('2026-01-02T23:59:59.999Z') };
      const early = { ...base, at: new Date('2026-01-03T00:00:00.000Z') };
      expect(utcTradeDate(late.at)).toBe('2026-01-02');
      expect(utcTradeDate(early.at)).toBe('2026-01-03');
      expect(generateClientOrderId(late)).toBe(sha24('AAPL|buy|10|None|None|alpha_baseline|2026-01-02'));
      expect(generateClientOrderId(early)).toBe(sha24('AAPL|buy|10|None|None|alpha_baseline|2026-01-03'));
      expect(generateClientOrderId(late)).not.toBe(generateClientOrderId(early));
    });

    it('an instant given with a non-UTC offset maps to its UTC date', () => {
      // 20:00 in New York on Jan 2 is 01:00 UTC on Jan 3.
      const ny = new Date('2026-01-02T20:00:00-05:00');
      expect(utcTradeDate(ny)).toBe('2026-01-03');
      expect(generateClientOrderId({ ...base, at: ny })).toBe(sha24('AAPL|buy|10|None|None|alpha_baseline|2026-01-03'));
      // 08:00 in Tokyo on Jan 3 is still Jan 2 in UTC.
      const tokyo = new Date('2026-01-03T08:00:00+09:00');
      expect(utcTradeDate(tokyo)).toBe('2026-01-02');
      expect(generateClientOrderId({ ...base, at: tokyo })).toBe(generateClientOrderId(base));
    });

    it('every instant of one UTC day gives the same id', () => {
      const dayStart = Date.UTC(2026, 0, 2);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 86_400_000 - 1 }), (offset) => {
          expect(generateClientOrderId({ ...base, at: new Date(dayStart + offset) })).toBe(generateClientOrderId(base));
        }),
      );
    });
  });

  describe('properties', () => {
    const symbolArb = fc.stringMatching(/^[A-Z0-9./]{1,10}$/);
    const decimalArb = fc
      .tuple(fc.integer({ min: 0, max: 1_000_000 }), fc.option(fc.stringMatching(/^\d{0,7}[1-9]$/), { nil: null }))
      .map(([i, f]) => (f === null ? String(i) : `${i}.${f}`));
    const priceArb = fc.option(decimalArb, { nil: null });
    const identArb = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);
    const dateArb = fc.date({
      min: new Date('2000-01-01T00:00:00.000Z'),
      max: new Date('2099-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    });
    const inputArb: fc.Arbitrary<ClientOrderIdInput> = fc.record({
      symbol: symbolArb,
      side: fc.constantFrom('buy', 'sell'),
      qty: fc.integer({ min: 1, max: 1_000_000_000 }).map(String),
      limitPrice: priceArb,
      stopPrice: priceArb,
      strategyId: identArb,
      at: dateArb,
      idempotencyKey: fc.option(identArb, { nil: undefined }),
    });

    it('is deterministic: the same input gives the same id', () => {
      fc.assert(
        fc.property(inputArb, (input) => {
          const copy = { ...input, at: new Date(input.at.getTime()) };
          expect(generateClientOrderId(copy)).toBe(generateClientOrderId(input));
        }),
      );
    });

    it('is 24 lowercase hex characters and equals the formula', () => {
      fc.assert(
        fc.property(inputArb, (input) => {
          const id = generateClientOrderId(input);
          expect(id).toMatch(/^[0-9a-f]{24}$/);
          const terms = [
            input.symbol,
            input.side,
            input.qty,
            input.limitPrice ?? 'None',
            input.stopPrice ?? 'None',
            input.strategyId,
            input.at.toISOString().slice(0, 10),
          ];
          if (input.idempotencyKey) terms.push(input.idempotencyKey);
          expect(id).toBe(sha24(terms.join('|')));
        }),
      );
    });

    /** For each term, an arbitrary of a changed input (the term differs, everything else is kept). */
    const changeOneTerm = (input: ClientOrderIdInput): fc.Arbitrary<ClientOrderIdInput> =>
      fc.oneof(
        symbolArb.filter((v) => v !== input.symbol).map((symbol) => ({ ...input, symbol })),
        fc.constant({ ...input, side: input.side === 'buy' ? 'sell' : 'buy' }),
        fc
          .integer({ min: 1, max: 1_000_000_000 })
          .map(String)
          .filter((v) => v !== input.qty)
          .map((qty) => ({ ...input, qty })),
        priceArb.filter((v) => v !== input.limitPrice).map((limitPrice) => ({ ...input, limitPrice })),
        priceArb.filter((v) => v !== input.stopPrice).map((stopPrice) => ({ ...input, stopPrice })),
        identArb.filter((v) => v !== input.strategyId).map((strategyId) => ({ ...input, strategyId })),
        fc
          .integer({ min: 1, max: 3650 })
          .chain((days) => fc.constantFrom(days, -days))
          .map((days) => ({ ...input, at: new Date(input.at.getTime() + days * 86_400_000) })),
        fc
          .option(identArb, { nil: undefined })
          .filter((v) => v !== input.idempotencyKey)
          .map((idempotencyKey) => ({ ...input, idempotencyKey })),
      );

    it('changing any single term changes the id', () => {
      fc.assert(
        fc.property(
          inputArb.chain((input) => fc.tuple(fc.constant(input), changeOneTerm(input))),
          ([input, changed]) => {
            expect(generateClientOrderId(changed)).not.toBe(generateClientOrderId(input));
          },
        ),
        { numRuns: 500 },
      );
    });
  });
});

describe('client_order_id: trailing stops and extended hours add terms only when present', () => {
  const base = {
    symbol: 'AAPL',
    side: 'sell',
    qty: '10',
    limitPrice: null,
    stopPrice: null,
    strategyId: 'default',
    at: new Date('2026-12-07T10:00:00Z'),
  };

  it('a simple order hashes exactly as before, whatever the new optional terms say when absent', () => {
    const before = 'AAPL|sell|10|None|None|default|2026-12-07';
    expect(clientOrderIdHashInput(base)).toBe(before);
    expect(clientOrderIdHashInput({ ...base, orderType: 'market', extendedHours: false, trailPrice: null })).toBe(
      before,
    );
    expect(clientOrderIdHashInput({ ...base, orderType: 'limit', limitPrice: '150' })).toBe(
      'AAPL|sell|10|150|None|default|2026-12-07',
    );
  });

  it('a trailing stop carries its trail; dollars and percent differ', () => {
    const dollars = { ...base, orderType: 'trailing_stop', trailPrice: '2' };
    const percent = { ...base, orderType: 'trailing_stop', trailPercent: '2' };
    expect(clientOrderIdHashInput(dollars)).toBe('AAPL|sell|10|None|None|default|2026-12-07|trail:2|None');
    expect(clientOrderIdHashInput({ ...percent, idempotencyKey: 'k1' })).toBe(
      'AAPL|sell|10|None|None|default|2026-12-07|trail:None|2|k1',
    );
    expect(generateClientOrderId(dollars)).not.toBe(generateClientOrderId(percent));
    expect(generateClientOrderId(dollars)).not.toBe(generateClientOrderId(base));
  });

  it('extended hours is a term of its own', () => {
    const limit = { ...base, orderType: 'limit', limitPrice: '150' };
    expect(clientOrderIdHashInput({ ...limit, extendedHours: true })).toBe(
      'AAPL|sell|10|150|None|default|2026-12-07|eh',
    );
  });
});

describe('client_order_id: order classes add terms only when not simple', () => {
  const base = {
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    limitPrice: '150',
    stopPrice: null,
    strategyId: 'default',
    at: new Date('2026-12-07T10:00:00Z'),
  };

  it("a simple order's id is unchanged, with or without the class terms named", () => {
    const before = sha24('AAPL|buy|10|150|None|default|2026-12-07');
    expect(generateClientOrderId(base)).toBe(before);
    expect(
      generateClientOrderId({
        ...base,
        orderClass: 'simple',
        takeProfitLimitPrice: null,
        stopLossStopPrice: null,
        stopLossLimitPrice: null,
      }),
    ).toBe(before);
  });

  it('a bracket carries its class and both legs; a stop-limit stop-loss its limit too', () => {
    const bracket = { ...base, orderClass: 'bracket', takeProfitLimitPrice: '160', stopLossStopPrice: '140' };
    expect(clientOrderIdHashInput(bracket)).toBe('AAPL|buy|10|150|None|default|2026-12-07|bracket|160|140');
    expect(clientOrderIdHashInput({ ...bracket, stopLossLimitPrice: '139', idempotencyKey: 'k' })).toBe(
      'AAPL|buy|10|150|None|default|2026-12-07|bracket|160|140:139|k',
    );
    expect(clientOrderIdHashInput({ ...base, orderClass: 'oto', takeProfitLimitPrice: '160' })).toBe(
      'AAPL|buy|10|150|None|default|2026-12-07|oto|160|None',
    );
  });

  it('the class and every leg term change the id (property)', () => {
    const price = fc.integer({ min: 1, max: 100_000 }).map(String);
    fc.assert(
      fc.property(
        fc.constantFrom('bracket', 'oto', 'oco'),
        fc.option(price, { nil: null }),
        fc.option(price, { nil: null }),
        fc.option(price, { nil: null }),
        (orderClass, tp, sl, sll) => {
          const withLegs = {
            ...base,
            orderClass,
            takeProfitLimitPrice: tp,
            stopLossStopPrice: sl,
            stopLossLimitPrice: sl ? sll : null,
          };
          expect(generateClientOrderId(withLegs)).not.toBe(generateClientOrderId(base));
          expect(generateClientOrderId({ ...withLegs, takeProfitLimitPrice: `${tp ?? 0}1` })).not.toBe(
            generateClientOrderId(withLegs),
          );
          expect(generateClientOrderId({ ...withLegs, stopLossStopPrice: `${sl ?? 0}1` })).not.toBe(
            generateClientOrderId(withLegs),
          );
        },
      ),
    );
  });
});
