import fc from 'fast-check';
import { CircuitBreakerView, KillSwitchView } from '../../risk/pipeline/pre-trade-checks';
import { ORDER_STATUSES, OrderStatus } from '../../trading/order-status';
import { breakerMayBlock, decideDispatchSafety } from './dispatch-safety.decision';

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

describe('decideDispatchSafety', () => {
  it('sends when neither the kill switch nor the breaker is engaged', () => {
    expect(decideDispatchSafety('pending_new', ks(), cb(), false)).toBeNull();
    expect(breakerMayBlock(cb())).toBe(false);
  });

  it('blocks every unsent order while the kill switch is engaged or unreadable, reduce-only included', () => {
    for (const reduceOnly of [false, true]) {
      expect(
        decideDispatchSafety('pending_new', ks({ engaged: true, reason: 'halt' }), cb(), reduceOnly),
      ).toMatchObject({
        status: 'blocked_kill_switch',
        denial: { code: 'KILL_SWITCH_ENGAGED' },
      });
      expect(decideDispatchSafety('pending_new', ks({ readable: false }), cb(), reduceOnly)).toMatchObject({
        status: 'blocked_kill_switch',
        denial: { code: 'SAFETY_STATE_UNAVAILABLE' },
      });
    }
  });

  it('the breaker blocks an order that adds exposure, never a reduce-only one', () => {
    const tripped = cb({ tripped: true, reason: 'loss' });
    expect(breakerMayBlock(tripped)).toBe(true);
    expect(decideDispatchSafety('pending_new', ks(), tripped, false)).toMatchObject({
      status: 'blocked_circuit_breaker',
      denial: { code: 'CIRCUIT_BREAKER_TRIPPED' },
    });
    expect(decideDispatchSafety('pending_new', ks(), tripped, true)).toBeNull();
    expect(decideDispatchSafety('pending_new', ks(), cb({ readable: false }), false)).toMatchObject({
      status: 'blocked_circuit_breaker',
      denial: { code: 'SAFETY_STATE_UNAVAILABLE' },
    });
  });

  it('property: only a never-sent order is ever blocked, and the kill switch wins over the breaker', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(ORDER_STATUSES as readonly OrderStatus[])),
        fc.record({ readable: fc.boolean(), engaged: fc.boolean() }),
        fc.record({ readable: fc.boolean(), tripped: fc.boolean() }),
        fc.boolean(),
        (status, k, b, reduceOnly) => {
          const out = decideDispatchSafety(status, ks(k), cb(b), reduceOnly);
          if (status !== 'pending_new') return out === null;
          const ksBlocks = !k.readable || k.engaged;
          const cbBlocks = !reduceOnly && (!b.readable || b.tripped);
          if (ksBlocks) return out?.status === 'blocked_kill_switch';
          if (cbBlocks) return out?.status === 'blocked_circuit_breaker';
          return out === null;
        },
      ),
    );
  });
});
