import { InputValidationError } from '../common/domain-error';
import { OrderCommand } from './order-command';

const valid = { symbol: 'AAPL', side: 'buy', qty: 10 };

describe('OrderCommand.create: trailing stops and extended hours', () => {
  const check = (plain: Record<string, unknown>): string[] => {
    try {
      OrderCommand.create(plain);
      return [];
    } catch (e) {
      return (e as InputValidationError).fields.map((f) => f.field).sort();
    }
  };
  const trailing = { ...valid, side: 'sell', order_type: 'trailing_stop' };

  it('accepts a trail in dollars or in percent, normalized', () => {
    expect(OrderCommand.create({ ...trailing, trail_price: '2.50' })).toMatchObject({
      orderType: 'trailing_stop',
      trailPrice: '2.5',
      trailPercent: null,
      extendedHours: false,
    });
    expect(OrderCommand.create({ ...trailing, trail_percent: 1.25 })).toMatchObject({
      trailPrice: null,
      trailPercent: '1.25',
    });
  });

  it.each([
    [{}, ['trail_percent', 'trail_price']],
    [{ trail_price: null, trail_percent: null }, ['trail_percent', 'trail_price']],
    [{ trail_price: 1, trail_percent: 1 }, ['trail_percent', 'trail_price']],
    [{ trail_price: 0 }, ['trail_price']],
    [{ trail_price: -1 }, ['trail_price']],
    [{ trail_price: 'abc' }, ['trail_price']],
    [{ trail_percent: 0 }, ['trail_percent']],
    [{ trail_percent: 100 }, ['trail_percent']],
    [{ trail_percent: '1.123456789' }, ['trail_percent']],
    [{ trail_price: 1, limit_price: 150 }, ['limit_price']],
    [{ trail_price: 1, stop_price: 150 }, ['stop_price']],
    [{ trail_price: 1, extended_hours: true }, ['extended_hours']],
  ])('trailing_stop with %j → 422 naming %j', (extra, fields) => {
    expect(check({ ...trailing, ...extra })).toEqual(fields);
  });

  it('a bad trail is named once, by its own rule (not again by the cross-field rule)', () => {
    try {
      OrderCommand.create({ ...trailing, trail_price: 0 });
      throw new Error('accepted');
    } catch (e) {
      const fields = (e as InputValidationError).fields;
      expect(fields).toHaveLength(1);
      expect(fields[0].problems[0]).toMatch(/positive decimal/);
    }
  });

  it.each(['market', 'limit', 'stop', 'stop_limit'])('a trail on a %s order is refused by name', (orderType) => {
    const prices = {
      limit_price: orderType.includes('limit') ? 150 : undefined,
      stop_price: orderType.includes('stop') ? 149 : undefined,
    };
    expect(check({ ...valid, order_type: orderType, ...prices, trail_price: 1 })).toEqual(['trail_price']);
    expect(check({ ...valid, order_type: orderType, ...prices, trail_percent: 1 })).toEqual(['trail_percent']);
  });

  it('extended_hours: limit day orders only, a JSON boolean', () => {
    const limit = { ...valid, order_type: 'limit', limit_price: 150 };
    expect(OrderCommand.create({ ...limit, extended_hours: true })).toMatchObject({ extendedHours: true });
    expect(OrderCommand.create({ ...limit, extended_hours: false })).toMatchObject({ extendedHours: false });
    expect(check({ ...limit, time_in_force: 'gtc', extended_hours: true })).toEqual(['extended_hours']);
    expect(check({ ...valid, extended_hours: true })).toEqual(['extended_hours']);
    expect(check({ ...valid, order_type: 'stop_limit', limit_price: 1, stop_price: 1, extended_hours: true })).toEqual([
      'extended_hours',
    ]);
    expect(check({ ...limit, extended_hours: 'yes' })).toEqual(['extended_hours']);
    expect(check({ ...limit, extended_hours: 1 })).toEqual(['extended_hours']);
    // false is allowed on any order: it asks for nothing.
    expect(check({ ...valid, time_in_force: 'gtc', extended_hours: false })).toEqual([]);
  });
});
