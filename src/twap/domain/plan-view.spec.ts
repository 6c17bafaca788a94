import { parentVwap, slippageBps } from './plan-view';

describe('execution quality', () => {
  it('VWAP weighs each child by its fills; null before the first fill', () => {
    expect(parentVwap([])).toBeNull();
    expect(parentVwap([{ qty: 0, avgPrice: null }])).toBeNull();
    expect(
      parentVwap([
        { qty: 10, avgPrice: '100' },
        { qty: 30, avgPrice: '101' },
        { qty: 0, avgPrice: null },
      ]),
    ).toBe('100.75');
  });

  it('slippage is signed against arrival: positive is a cost for either side', () => {
    expect(slippageBps('buy', '100', '100.75')).toBe('75.00');
    expect(slippageBps('buy', '100', '99.5')).toBe('-50.00');
    expect(slippageBps('sell', '100', '99.5')).toBe('50.00');
    expect(slippageBps('sell', '100', '100.1')).toBe('-10.00');
    expect(slippageBps('buy', '187.3', '187.4')).toBe('5.34');
  });

  it('is null without a fill or an arrival price', () => {
    expect(slippageBps('buy', null, '100')).toBeNull();
    expect(slippageBps('buy', '100', null)).toBeNull();
  });
});
