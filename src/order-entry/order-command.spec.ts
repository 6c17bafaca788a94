import { InputValidationError } from '../common/domain-error';
import { OrderCommand } from './order-command';

const valid = { symbol: 'AAPL', side: 'buy', qty: 10 };

/** The command as the wire names its fields. */
async function accept(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const c = OrderCommand.create(body);
  expect(c).toBeInstanceOf(OrderCommand);
  return Promise.resolve({
    symbol: c.symbol,
    side: c.side,
    qty: c.qty,
    order_type: c.orderType,
    limit_price: c.limitPrice,
    stop_price: c.stopPrice,
    time_in_force: c.timeInForce,
    client_order_id: c.clientOrderId,
    idempotency_key: c.idempotencyKey,
    strategy_id: c.strategyId,
  });
}

async function refuse(body: unknown): Promise<InputValidationError> {
  let err: unknown;
  try {
    OrderCommand.create(body);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InputValidationError);
  return Promise.resolve(err as InputValidationError);
}

const fieldNames = (e: InputValidationError): string[] => e.fields.map((f) => f.field).sort();

describe('OrderCommand.create: the one validation of a new order, whatever sends it', () => {
  it('accepts a minimal market order and fills the defaults', async () => {
    const dto = await accept(valid);
    expect(dto).toMatchObject({ symbol: 'AAPL', side: 'buy', qty: '10', order_type: 'market', time_in_force: 'day' });
    expect(dto.limit_price).toBeNull();
    expect(dto.stop_price).toBeNull();
  });

  describe('qty', () => {
    it.each<[unknown, string]>([
      [1, '1'],
      ['1', '1'],
      [10, '10'],
      ['10', '10'],
      [10.0, '10'],
      ['10.0', '10'],
      [' 10 ', '10'],
      [1_000_000_000, '1000000000'],
      ['1000000000', '1000000000'],
    ])('%p is accepted as %p', async (qty, expected) => {
      expect((await accept({ ...valid, qty })).qty).toBe(expected);
    });

    it.each<unknown>([0, '0', 1_000_000_001, '1000000001', -1, '-1', 10.5, '10.5', 'abc', '1e3', null, true, [10], {}])(
      '%p is refused naming qty',
      async (qty) => {
        const err = await refuse({ ...valid, qty });
        expect(fieldNames(err)).toEqual(['qty']);
      },
    );

    it('a missing qty is named', async () => {
      const err = await refuse({ symbol: 'AAPL', side: 'buy' });
      expect(fieldNames(err)).toEqual(['qty']);
    });
  });

  describe('prices', () => {
    it.each<[unknown, string]>([
      ['150.25', '150.25'],
      [150.5, '150.5'],
      ['150.50', '150.5'],
      ['150.00', '150'],
      ['0.00000001', '0.00000001'],
      ['1.12345678', '1.12345678'],
      ['1.123456780', '1.12345678'],
      ['999999999.99999999', '999999999.99999999'],
    ])('limit_price %p is accepted as %p', async (price, expected) => {
      const dto = await accept({ ...valid, order_type: 'limit', limit_price: price });
      expect(dto.limit_price).toBe(expected);
    });

    it.each<unknown>([
      '1.123456789',
      '0.000000001',
      1.123456789,
      0,
      '0',
      '0.00',
      -1,
      '-1',
      '1e2',
      'abc',
      '1000000000',
      1_000_000_000,
      true,
    ])('limit_price %p is refused naming limit_price', async (price) => {
      const err = await refuse({ ...valid, order_type: 'limit', limit_price: price });
      expect(fieldNames(err)).toEqual(['limit_price']);
    });

    it('stop_price has the same rules', async () => {
      expect((await accept({ ...valid, order_type: 'stop', stop_price: '99.10' })).stop_price).toBe('99.1');
      const err = await refuse({ ...valid, order_type: 'stop', stop_price: '99.123456789' });
      expect(fieldNames(err)).toEqual(['stop_price']);
    });

    it('null prices are treated as absent', async () => {
      const dto = await accept({ ...valid, limit_price: null, stop_price: null });
      expect(dto.limit_price).toBeNull();
      expect(dto.stop_price).toBeNull();
    });
  });

  describe('symbol', () => {
    it.each<[string, string]>([
      ['AAPL', 'AAPL'],
      ['BRK.B', 'BRK.B'],
      ['BTC/USD', 'BTC/USD'],
      [' aapl ', 'AAPL'],
      ['brk.b', 'BRK.B'],
      ['A', 'A'],
      ['ABCDEFGHIJ', 'ABCDEFGHIJ'],
      ['  abcdefghij  ', 'ABCDEFGHIJ'],
    ])('%p is accepted as %p', async (symbol, expected) => {
      expect((await accept({ ...valid, symbol })).symbol).toBe(expected);
    });

    it.each<unknown>(['ABCDEFGHIJK', '', '   ', 'AA PL', 'AAPL!', 'AAPL-W', 'ÄAPL', 42, null, ['AAPL']])(
      '%p is refused naming symbol',
      async (symbol) => {
        const err = await refuse({ ...valid, symbol });
        expect(fieldNames(err)).toEqual(['symbol']);
      },
    );
  });

  describe('enums and identifiers', () => {
    it.each(['buy', 'sell'])('side %p is accepted', async (side) => {
      expect((await accept({ ...valid, side })).side).toBe(side);
    });

    it.each(['BUY', 'short', '', 1])('side %p is refused', async (side) => {
      expect(fieldNames(await refuse({ ...valid, side }))).toEqual(['side']);
    });

    it.each(['MARKET', 'trailing', ''])('order_type %p is refused', async (order_type) => {
      expect(fieldNames(await refuse({ ...valid, order_type }))).toEqual(['order_type']);
    });

    it.each(['day', 'gtc', 'ioc', 'fok'])('time_in_force %p is accepted', async (time_in_force) => {
      expect((await accept({ ...valid, time_in_force })).time_in_force).toBe(time_in_force);
    });

    it.each(['opg', 'DAY'])('time_in_force %p is refused', async (time_in_force) => {
      expect(fieldNames(await refuse({ ...valid, time_in_force }))).toEqual(['time_in_force']);
    });

    it('client_order_id: 48 characters ok, 49 refused, Alpaca-safe characters only', async () => {
      expect((await accept({ ...valid, client_order_id: 'a'.repeat(48) })).client_order_id).toBe('a'.repeat(48));
      expect(fieldNames(await refuse({ ...valid, client_order_id: 'a'.repeat(49) }))).toEqual(['client_order_id']);
      expect(fieldNames(await refuse({ ...valid, client_order_id: 'has space' }))).toEqual(['client_order_id']);
      expect(fieldNames(await refuse({ ...valid, client_order_id: '' }))).toEqual(['client_order_id']);
    });

    it('idempotency_key: 1-64 characters of A-Z a-z 0-9 _ . : -', async () => {
      expect((await accept({ ...valid, idempotency_key: 'Key_1.a:b-c' })).idempotency_key).toBe('Key_1.a:b-c');
      expect((await accept({ ...valid, idempotency_key: 'k'.repeat(64) })).idempotency_key).toBe('k'.repeat(64));
      expect(fieldNames(await refuse({ ...valid, idempotency_key: 'k'.repeat(65) }))).toEqual(['idempotency_key']);
      expect(fieldNames(await refuse({ ...valid, idempotency_key: 'a|b' }))).toEqual(['idempotency_key']);
      expect(fieldNames(await refuse({ ...valid, idempotency_key: '' }))).toEqual(['idempotency_key']);
    });

    it('strategy_id: up to 64 identifier characters', async () => {
      expect((await accept({ ...valid, strategy_id: 'alpha_baseline' })).strategy_id).toBe('alpha_baseline');
      expect(fieldNames(await refuse({ ...valid, strategy_id: 's'.repeat(65) }))).toEqual(['strategy_id']);
      expect(fieldNames(await refuse({ ...valid, strategy_id: 'a/b' }))).toEqual(['strategy_id']);
    });
  });

  describe('unknown fields and reporting', () => {
    it('an unknown field is refused by name', async () => {
      const err = await refuse({ ...valid, quantity: 10 });
      expect(err.fields).toEqual([{ field: 'quantity', problems: ['is not a known field'] }]);
      expect(err.message).toContain('quantity');
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.kind).toBe('invalid');
    });

    it('cross-field rules are reported in the same error as per-field ones', async () => {
      const err = await refuse({ symbol: 'AAPL', side: 'hold', qty: 1, order_type: 'limit', stop_price: 5 });
      expect(fieldNames(err)).toEqual(['limit_price', 'side', 'stop_price']);
    });

    it('cross-field rules refuse an otherwise valid body', async () => {
      const err = await refuse({ ...valid, order_type: 'stop_limit', limit_price: '10' });
      expect(err.fields).toEqual([{ field: 'stop_price', problems: ['is required for stop_limit orders'] }]);
    });

    it('several unknown fields are each named', async () => {
      const err = await refuse({ ...valid, foo: 1, bar: 'x' });
      expect(fieldNames(err)).toEqual(['bar', 'foo']);
    });

    it('every bad field is listed, with its name, in one error', async () => {
      const err = await refuse({
        symbol: 'WAY_TOO_LONG_SYMBOL',
        side: 'hold',
        qty: 0,
        order_type: 'iceberg',
        limit_price: '1.123456789',
        stop_price: -5,
        time_in_force: 'forever',
        client_order_id: 'x'.repeat(49),
        idempotency_key: 'bad key',
        strategy_id: 'bad/strategy',
        extra: true,
      });
      expect(fieldNames(err)).toEqual(
        [
          'client_order_id',
          'extra',
          'idempotency_key',
          'limit_price',
          'order_type',
          'qty',
          'side',
          'stop_price',
          'strategy_id',
          'symbol',
          'time_in_force',
        ].sort(),
      );
      for (const f of err.fields) {
        expect(f.problems.length).toBeGreaterThan(0);
        expect(err.message).toContain(f.field);
        // Messages read as "<field> <problem>", without the property name repeated.
        for (const p of f.problems) expect(p.startsWith(`${f.field} `)).toBe(false);
      }
      expect(err.details).toEqual({ fields: err.fields });
    });

    it('an empty or absent body names every required field', async () => {
      expect(fieldNames(await refuse({}))).toEqual(['qty', 'side', 'symbol']);
      expect(fieldNames(await refuse(undefined))).toEqual(['qty', 'side', 'symbol']);
    });

    it.each<[string, unknown]>([
      ['an array', [valid]],
      ['a string', 'AAPL'],
      ['a number', 10],
      ['null', null],
    ])('a body that is %s is refused naming body', async (_name, body) => {
      const err = await refuse(body);
      expect(err.fields).toEqual([{ field: 'body', problems: ['must be a JSON object'] }]);
    });
  });
});

describe('OrderCommand.create: boundaries', () => {
  const check = (plain: Record<string, unknown>): string[] => {
    try {
      OrderCommand.create(plain);
      return [];
    } catch (e) {
      return (e as InputValidationError).fields.map((f) => f.field).sort();
    }
  };

  it('normalizes', () => {
    const c = OrderCommand.create({
      symbol: ' brk.b ',
      side: 'sell',
      qty: '25.0',
      order_type: 'limit',
      limit_price: 150.5,
    });
    expect(c).toMatchObject({ symbol: 'BRK.B', qty: '25', limitPrice: '150.5' });
  });

  it('qty boundaries', () => {
    expect(check({ ...valid, qty: 1 })).toEqual([]);
    expect(check({ ...valid, qty: 0 })).toEqual(['qty']);
    expect(check({ ...valid, qty: 1_000_000_000 })).toEqual([]);
    expect(check({ ...valid, qty: 1_000_000_001 })).toEqual(['qty']);
  });

  it('price decimals boundary: 8 ok, 9 refused', () => {
    expect(check({ ...valid, order_type: 'limit', limit_price: '0.12345678' })).toEqual([]);
    expect(check({ ...valid, order_type: 'limit', limit_price: '0.123456789' })).toEqual(['limit_price']);
  });

  it('symbol length boundary: 10 ok, 11 refused', () => {
    expect(check({ ...valid, symbol: 'ABCDEFGHIJ' })).toEqual([]);
    expect(check({ ...valid, symbol: 'ABCDEFGHIJK' })).toEqual(['symbol']);
  });
});

describe('OrderCommand.create: text PostgreSQL refuses, and symbols checked raw', () => {
  const fieldsOf = (raw: unknown): string[] => {
    try {
      OrderCommand.create(raw);
    } catch (e) {
      return (e as InputValidationError).fields.map((f) => f.field).sort();
    }
    return [];
  };

  it('names a NUL in any field or key, known or not', () => {
    expect(fieldsOf({ symbol: 'AAPL', side: 'buy', qty: 1, strategy_id: 'a\u0000' })).toEqual(['strategy_id']);
    expect(fieldsOf({ symbol: 'AAPL', side: 'buy', qty: 1, note: { deep: '\u0000' } })).toEqual(['note.deep']);
  });

  it.each(['ſpy', 'ß', '.', '..', '//', '../..', 'A.', 'A/'])('refuses the symbol %j', (symbol) => {
    expect(fieldsOf({ symbol, side: 'buy', qty: 1 })).toEqual(['symbol']);
  });
});

describe('OrderCommand.create: `type` as an alias of `order_type`', () => {
  const base = { symbol: 'AAPL', side: 'buy', qty: 10 };
  const fields = (plain: Record<string, unknown>): string[] => {
    try {
      OrderCommand.create(plain);
      return [];
    } catch (e) {
      return (e as InputValidationError).fields.map((f) => f.field).sort();
    }
  };

  it('takes `type` when `order_type` is absent', () => {
    expect(OrderCommand.create({ ...base, type: 'limit', limit_price: '1.5' }).orderType).toBe('limit');
    expect(OrderCommand.create({ ...base, type: 'market' }).orderType).toBe('market');
  });

  it('accepts both when they agree', () => {
    expect(OrderCommand.create({ ...base, type: 'stop', order_type: 'stop', stop_price: 9 }).orderType).toBe('stop');
  });

  it('refuses both when they differ, naming type', () => {
    expect(fields({ ...base, type: 'limit', order_type: 'market' })).toEqual(['type']);
  });

  it('names `type` when its value is not an order type', () => {
    expect(fields({ ...base, type: 'iceberg' })).toEqual(['type']);
  });

  it('applies the cross-field rules to the aliased type', () => {
    expect(fields({ ...base, type: 'limit' })).toEqual(['limit_price']);
  });
});

describe('OrderCommand: the id format of TWAP slices', () => {
  const order = { symbol: 'AAPL', side: 'buy', qty: 1 };
  const sliceId = '0123456789abcdef01234567-s3';

  it('refuses a slice id from anyone but the TWAP dispatcher, naming client_order_id', () => {
    expect(() => OrderCommand.create({ ...order, client_order_id: sliceId })).toThrow(InputValidationError);
    try {
      OrderCommand.create({ ...order, client_order_id: sliceId });
    } catch (err) {
      expect((err as InputValidationError).fields.map((f) => f.field)).toEqual(['client_order_id']);
    }
  });

  it('takes it for a slice, and other ids with -s in them from anyone', () => {
    expect(OrderCommand.forSlice({ ...order, client_order_id: sliceId }).clientOrderId).toBe(sliceId);
    expect(OrderCommand.create({ ...order, client_order_id: 'my-s3' }).clientOrderId).toBe('my-s3');
    expect(OrderCommand.create({ ...order, client_order_id: `${sliceId}x` }).clientOrderId).toBe(`${sliceId}x`);
  });
});
