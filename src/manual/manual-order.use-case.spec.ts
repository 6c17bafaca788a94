import { InputValidationError } from '../common/domain-error';
import { parseManualOrder } from './manual-order.use-case';

const fieldsOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof InputValidationError) return err.fields.map((f) => f.field).sort();
    throw err;
  }
  return [];
};

describe('parseManualOrder', () => {
  it('splits the order request from reason and operator', () => {
    const parsed = parseManualOrder({ symbol: ' aapl ', side: 'buy', qty: '10.0', reason: 'hedge', operator: 'jane' });
    expect(parsed.reason).toBe('hedge');
    expect(parsed.operator).toBe('jane');
    expect(parsed.command).toMatchObject({ symbol: 'AAPL', side: 'buy', qty: '10', orderType: 'market' });
    expect(parseManualOrder({ symbol: 'A', side: 'sell', qty: 1, reason: 'x' }).operator).toBeUndefined();
  });

  it('names every bad field at once, the order fields and the manual ones', () => {
    expect(fieldsOf(() => parseManualOrder({ side: 'buy', qty: 1 }))).toEqual(['reason', 'symbol']);
    expect(
      fieldsOf(() => parseManualOrder({ symbol: 'A', side: 'up', qty: 1, reason: ' ', operator: 'system' })),
    ).toEqual(['operator', 'reason', 'side']);
    expect(fieldsOf(() => parseManualOrder({ symbol: 'A', side: 'buy', qty: 1, reason: 'x'.repeat(501) }))).toEqual([
      'reason',
    ]);
    expect(fieldsOf(() => parseManualOrder([]))).toEqual(['body']);
  });
});
