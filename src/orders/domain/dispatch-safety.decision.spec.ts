import fc from 'fast-check';
import { CircuitBreakerView, KillSwitchView, StrategyStateView } from '../../risk/pipeline/pre-trade-checks';
import { ORDER_STATUSES, OrderStatus } from '../../trading/order-status';
import { breakerMayBlock, decideDispatchSafety, strategyMayBlock } from './dispatch-safety.decision';

const ks = (over: Partial<KillSwitchView> = {}): KillSwitchView => ({
  readable: true,
  engaged: false,
  reason: null,
  engagedAt: null,
  engagedBy: null,
  ...over,
});
const cb = (over: Partial<CircuitBreakerView> = {}): CircuitBreakerView =>
  ({
    readable: true,
    tripped: false,
    reason: null,
    reasonCode: null,
    trippedAt: null,
    trippedBy: null,
    ...over,
  }) as CircuitBreakerView;

const st = (over: Partial<StrategyStateView> = {}): StrategyStateView => ({
  readable: true,
  state: 'active',
  reason: null,
  changedAt: null,
  changedBy: null,
  ...over,
});
const unsent = (reduceOnly: boolean, status: OrderStatus = 'pending_new') => ({
  status,
  strategyId: 'alpha',
  reduceOnly,
});

describe('decideDispatchSafety', () => {
  it('sends when neither the kill switch nor the breaker is engaged', () => {
    expect(decideDispatchSafety(unsent(false), ks(), cb(), st())).toBeNull();
    expect(breakerMayBlock(cb())).toBe(false);
  });

  it('blocks every unsent order while the kill switch is engaged or unreadable, reduce-only included', () => {
    for (const reduceOnly of [false, true]) {
      expect(
        decideDispatchSafety(unsent(reduceOnly), ks({ engaged: true, reason: 'halt' }), cb(), st({ state: 'halted' })),
      ).toMatchObject({
        status: 'blocked_kill_switch',
        denial: { code: 'KILL_SWITCH_ENGAGED' },
      });
      expect(decideDispatchSafety(unsent(reduceOnly), ks({ readable: false }), cb(), st())).toMatchObject({
        status: 'blocked_kill_switch',
        denial: { code: 'SAFETY_STATE_UNAVAILABLE' },
      });
    }
  });

  it('the breaker blocks an order that adds exposure, never a reduce-only one', () => {
    const tripped = cb({ tripped: true, reason: 'loss' });
    expect(breakerMayBlock(tripped)).toBe(true);
    expect(decideDispatchSafety(unsent(false), ks(), tripped, st())).toMatchObject({
      status: 'blocked_circuit_breaker',
      denial: { code: 'CIRCUIT_BREAKER_TRIPPED' },
    });
    expect(decideDispatchSafety(unsent(true), ks(), tripped, st())).toBeNull();
    expect(decideDispatchSafety(unsent(false), ks(), cb({ readable: false }), st())).toMatchObject({
      status: 'blocked_circuit_breaker',
      denial: { code: 'SAFETY_STATE_UNAVAILABLE' },
    });
  });

  it('a halted strategy blocks every unsent order of it, reduce-only included; reducing lets reduce-only through', () => {
    for (const reduceOnly of [false, true]) {
      expect(strategyMayBlock('alpha', st({ state: 'halted' }))).toBe(true);
      expect(
        decideDispatchSafety(unsent(reduceOnly), ks(), cb(), st({ state: 'halted', reason: 'stop' })),
      ).toMatchObject({ status: 'canceled', denial: { code: 'STRATEGY_HALTED', details: { strategy_id: 'alpha' } } });
      expect(decideDispatchSafety(unsent(reduceOnly), ks(), cb(), st({ readable: false }))).toMatchObject({
        status: 'canceled',
        denial: { code: 'SAFETY_STATE_UNAVAILABLE' },
      });
    }
    expect(strategyMayBlock('alpha', st({ state: 'reducing' }))).toBe(true);
    expect(decideDispatchSafety(unsent(false), ks(), cb(), st({ state: 'reducing' }))).toMatchObject({
      status: 'canceled',
      denial: { code: 'STRATEGY_REDUCING' },
    });
    expect(decideDispatchSafety(unsent(true), ks(), cb(), st({ state: 'reducing' }))).toBeNull();
    expect(strategyMayBlock('alpha', st())).toBe(false);
  });

  it('property: only a never-sent order is ever blocked; kill switch, then breaker, then strategy', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(ORDER_STATUSES as readonly OrderStatus[])),
        fc.record({ readable: fc.boolean(), engaged: fc.boolean() }),
        fc.record({ readable: fc.boolean(), tripped: fc.boolean() }),
        fc.record({
          readable: fc.boolean(),
          state: fc.constantFrom('active' as const, 'reducing' as const, 'halted' as const),
        }),
        fc.boolean(),
        (status, k, b, s, reduceOnly) => {
          const out = decideDispatchSafety(unsent(reduceOnly, status), ks(k), cb(b), st(s));
          if (status !== 'pending_new') return out === null;
          const ksBlocks = !k.readable || k.engaged;
          const cbBlocks = !reduceOnly && (!b.readable || b.tripped);
          const stBlocks = !s.readable || s.state === 'halted' || (s.state === 'reducing' && !reduceOnly);
          if (ksBlocks) return out?.status === 'blocked_kill_switch';
          if (cbBlocks) return out?.status === 'blocked_circuit_breaker';
          if (stBlocks) return out?.status === 'canceled';
          return out === null;
        },
      ),
    );
  });
});
