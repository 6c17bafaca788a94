/**
 * The safety re-check immediately before an order is sent to the broker
 * (docs/risk-and-safety.md#the-safety-re-check-before-sending): the kill
 * switch, the circuit breaker and the order's strategy state are read again,
 * because any of them may have changed between the order's admission and its
 * dispatch.
 *
 * Invariants:
 * - only a written-ahead order that was never sent (`pending_new`) is judged:
 *   an order that may be at the broker is never blocked locally;
 * - the kill switch, engaged or unreadable, blocks every order;
 * - the circuit breaker, tripped or unreadable, blocks an order unless it is
 *   reduce-only (it only reduces the position, never past flat, counting the
 *   other open orders on its side);
 * - the strategy's state, halted or unreadable, blocks every order of that
 *   strategy; `reducing` blocks an order unless it is reduce-only. The order
 *   vocabulary has no blocked status of its own for it: the order ends
 *   `canceled` (canceled locally, never sent) with the check's reason code;
 * - the kill switch is judged first, then the breaker, then the strategy
 *   (the pipeline's order): an order several would block ends as the first
 *   says.
 */
import {
  checkCircuitBreaker,
  checkKillSwitch,
  CircuitBreakerView,
  checkStrategyState,
  KillSwitchView,
  StrategyStateView,
} from '../../risk/pipeline/pre-trade-checks';
import { Denial } from '../../risk/pipeline/pre-trade-check';
import { OrderStatus } from '../../trading/order-status';

export interface DispatchBlock {
  status: Extract<OrderStatus, 'blocked_kill_switch' | 'blocked_circuit_breaker' | 'canceled'>;
  denial: Denial;
}

/** Whether the breaker would block an order that adds exposure (then the caller finds out if this one is reduce-only). */
export function breakerMayBlock(breaker: CircuitBreakerView): boolean {
  return checkCircuitBreaker(breaker, false) !== null;
}

/** Whether the strategy's state would block an order that adds exposure. */
export function strategyMayBlock(strategyId: string, strategy: StrategyStateView): boolean {
  return checkStrategyState(strategyId, strategy, false) !== null;
}

/** The order as the re-check sees it. */
export interface DispatchCandidate {
  status: OrderStatus;
  strategyId: string;
  /** Whether it only reduces the position (read when the breaker or the strategy state may block). */
  reduceOnly: boolean;
}

/** Null sends the order; otherwise the status it ends in and why. */
export function decideDispatchSafety(
  order: DispatchCandidate,
  killSwitch: KillSwitchView,
  breaker: CircuitBreakerView,
  strategy: StrategyStateView,
): DispatchBlock | null {
  if (order.status !== 'pending_new') return null;
  const ks = checkKillSwitch(killSwitch);
  if (ks) return { status: 'blocked_kill_switch', denial: ks };
  const cb = checkCircuitBreaker(breaker, order.reduceOnly);
  if (cb) return { status: 'blocked_circuit_breaker', denial: cb };
  const st = checkStrategyState(order.strategyId, strategy, order.reduceOnly);
  return st ? { status: 'canceled', denial: st } : null;
}
