import fc from 'fast-check';
import { checkStrategyState, StrategyStateView } from './pre-trade-checks';
import { StrategyStateGate } from './pre-trade-sources';

const view = (state: StrategyStateView['state'], readable = true): StrategyStateView => ({
  readable,
  state,
  reason: state === 'active' ? null : 'desk call',
  changedAt: new Date('2026-01-05T15:00:00Z'),
  changedBy: 'ops',
});

describe('checkStrategyState', () => {
  it('active admits everything', () => {
    expect(checkStrategyState('alpha', view('active'), false)).toBeNull();
    expect(checkStrategyState('alpha', view('active'), true)).toBeNull();
  });

  it('halted refuses every new order, reduce-only included (503 STRATEGY_HALTED)', () => {
    for (const reduceOnly of [false, true]) {
      expect(checkStrategyState('alpha', view('halted'), reduceOnly)).toMatchObject({
        code: 'STRATEGY_HALTED',
        status: 503,
        details: { strategy_id: 'alpha', reason: 'desk call', changed_by: 'ops' },
      });
    }
  });

  it('reducing lets only reduce-only orders through (503 STRATEGY_REDUCING)', () => {
    expect(checkStrategyState('alpha', view('reducing'), true)).toBeNull();
    expect(checkStrategyState('alpha', view('reducing'), false)).toMatchObject({
      code: 'STRATEGY_REDUCING',
      status: 503,
    });
  });

  it('property: an unreadable state refuses every order, whatever the state held', () => {
    fc.assert(
      fc.property(fc.constantFrom('active' as const, 'reducing' as const, 'halted' as const), fc.boolean(), (s, ro) => {
        expect(checkStrategyState('alpha', view(s, false), ro)).toMatchObject({
          code: 'SAFETY_STATE_UNAVAILABLE',
          details: { state: 'strategy_state' },
        });
      }),
    );
  });

  it('an unbound gate is unreadable (fail closed); a bound one answers its source', () => {
    const gate = new StrategyStateGate();
    expect(gate.current('alpha').readable).toBe(false);
    gate.bind({ current: () => view('reducing') });
    expect(gate.current('alpha')).toMatchObject({ readable: true, state: 'reducing' });
  });
});
