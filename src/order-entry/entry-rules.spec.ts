import { SLICE_BLOCKS, sliceBlockCode } from './entry-rules';

describe('SLICE_BLOCKS', () => {
  it('writes a slice refused by the kill switch, the breaker or a halted strategy in its own blocked status', () => {
    expect(SLICE_BLOCKS).toEqual({
      KILL_SWITCH_ENGAGED: 'blocked_kill_switch',
      CIRCUIT_BREAKER_TRIPPED: 'blocked_circuit_breaker',
      STRATEGY_HALTED: 'blocked_strategy_halted',
    });
  });

  it('does not block a reducing strategy’s slice: it is refused like any other check', () => {
    expect(SLICE_BLOCKS.STRATEGY_REDUCING).toBeUndefined();
  });

  it('gives back the reason code of each blocked status', () => {
    expect(sliceBlockCode('blocked_kill_switch')).toBe('KILL_SWITCH_ENGAGED');
    expect(sliceBlockCode('blocked_circuit_breaker')).toBe('CIRCUIT_BREAKER_TRIPPED');
    expect(sliceBlockCode('blocked_strategy_halted')).toBe('STRATEGY_HALTED');
  });
});
