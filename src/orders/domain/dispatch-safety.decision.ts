/**
 * The safety re-check immediately before an order is sent to the broker
 * (docs/risk-and-safety.md#the-safety-re-check-before-sending): the kill
 * switch and the circuit breaker are read again, because either may have
 * engaged between the order's admission and its dispatch.
 *
 * Invariants:
 * - only a written-ahead order that was never sent (`pending_new`) is judged:
 *   an order that may be at the broker is never blocked locally;
 * - the kill switch, engaged or unreadable, blocks every order;
 * - the circuit breaker, tripped or unreadable, blocks an order unless it is
 *   reduce-only (it only reduces the position, never past flat, counting the
 *   other open orders on its side);
 * - the kill switch is judged first: an order both would block is
 *   `blocked_kill_switch`.
 */
import {
  checkCircuitBreaker,
  checkKillSwitch,
  CircuitBreakerView,
  KillSwitchView,
} from '../../risk/pipeline/pre-trade-checks';
import { Denial } from '../../risk/pipeline/pre-trade-check';
import { OrderStatus } from '../../trading/order-status';

export interface DispatchBlock {
  status: Extract<OrderStatus, 'blocked_kill_switch' | 'blocked_circuit_breaker'>;
  denial: Denial;
}

/** Whether the breaker would block an order that adds exposure (then the caller finds out if this one is reduce-only). */
export function breakerMayBlock(breaker: CircuitBreakerView): boolean {
  return checkCircuitBreaker(breaker, false) !== null;
}

/** Null sends the order; otherwise the status it ends in and why. */
export function decideDispatchSafety(
  status: OrderStatus,
  killSwitch: KillSwitchView,
  breaker: CircuitBreakerView,
  reduceOnly: boolean,
): DispatchBlock | null {
  if (status !== 'pending_new') return null;
  const ks = checkKillSwitch(killSwitch);
  if (ks) return { status: 'blocked_kill_switch', denial: ks };
  const cb = checkCircuitBreaker(breaker, reduceOnly);
  return cb ? { status: 'blocked_circuit_breaker', denial: cb } : null;
}
