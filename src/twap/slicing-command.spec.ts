import { InputValidationError } from '../common/domain-error';
import { SlicingCommand } from './slicing-command';

const plan = { symbol: 'AAPL', side: 'sell', qty: 100, duration_minutes: 10, interval_seconds: 60 };

function refused(body: Record<string, unknown>): string[] {
  try {
    SlicingCommand.create(body);
  } catch (e) {
    if (e instanceof InputValidationError) return e.fields.map((f) => f.field).sort();
    throw e;
  }
  return [];
}

describe('SlicingCommand: order types a plan does not slice', () => {
  it('accepts a plain plan', () => expect(refused(plan)).toEqual([]));
  it('accepts a plan that says it is simple', () => expect(refused({ ...plan, order_class: 'simple' })).toEqual([]));

  it.each([
    [{ order_type: 'trailing_stop', trail_percent: 1 }, ['order_type', 'trail_percent']],
    [{ order_type: 'trailing_stop' }, ['order_type']],
    [{ trail_price: 1 }, ['trail_price']],
    [{ order_type: 'limit', limit_price: 150, extended_hours: true }, ['extended_hours']],
    [
      { order_class: 'bracket', take_profit: { limit_price: 110 }, stop_loss: { stop_price: 90 } },
      ['order_class', 'stop_loss', 'take_profit'],
    ],
    [{ order_class: 'oto', stop_loss: { stop_price: 90 } }, ['order_class', 'stop_loss']],
  ])('%j → 422 naming %j', (extra, fields) => {
    expect(refused({ ...plan, ...extra })).toEqual(fields);
  });
});
