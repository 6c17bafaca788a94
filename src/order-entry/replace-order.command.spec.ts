import { InputValidationError } from '../common/domain-error';
import { ReplaceOrderCommand } from './replace-order.command';

function fields(raw: unknown): string[] {
  try {
    ReplaceOrderCommand.create(raw);
  } catch (err) {
    if (err instanceof InputValidationError) return err.fields.map((f) => f.field);
    throw err;
  }
  return [];
}

describe('ReplaceOrderCommand', () => {
  it('normalizes with the order field rules', () => {
    const c = ReplaceOrderCommand.create({
      qty: '5.0',
      limit_price: 150.5,
      time_in_force: 'gtc',
      client_order_id: 'x-1',
    });
    expect(c).toMatchObject({ qty: '5', limitPrice: '150.5', timeInForce: 'gtc', clientOrderId: 'x-1' });
  });

  it('names every bad, unknown or unchangeable field', () => {
    expect(fields({ qty: 0, limit_price: 'abc', symbol: 'MSFT', foo: 1 })).toEqual([
      'symbol',
      'foo',
      'qty',
      'limit_price',
    ]);
    expect(fields({ trail: '1', trail_price: '1' })).toEqual(['trail']);
    expect(fields({ trail_price: '1', trail_percent: '1' })).toEqual(['trail_price', 'trail_percent']);
    expect(fields({ client_order_id: `${'a'.repeat(24)}-s3` })).toEqual(['client_order_id']);
    expect(fields('qty=5')).toEqual(['body']);
    expect(fields(undefined)).toEqual([]);
  });

  it("resolves `trail` to the order's own unit", () => {
    const c = ReplaceOrderCommand.create({ trail: '2.5' });
    expect(c.request({ orderType: 'trailing_stop', trailPrice: '1' })).toMatchObject({ trailPrice: '2.5' });
    expect(c.request({ orderType: 'trailing_stop', trailPrice: null })).toMatchObject({ trailPercent: '2.5' });
    expect(() => c.request({ orderType: 'limit', trailPrice: null })).toThrow(InputValidationError);
    expect(() =>
      ReplaceOrderCommand.create({ trail: '150' }).request({ orderType: 'trailing_stop', trailPrice: null }),
    ).toThrow(InputValidationError);
  });
});
