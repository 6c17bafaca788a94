/**
 * What the pre-trade pipeline reads, as ports: each safety state is owned by
 * its own module (circuit breaker, reconciliation, fat-finger thresholds,
 * P&L) and bound to these tokens in RiskModule, so the pipeline depends on
 * the views, not on the services behind them.
 */
import { AverageDailyVolume, PriceObservation } from '../../market-data/market-data.port';
import { CheckResult } from './pre-trade-check';
import { CircuitBreakerView, OrderIntent, ReconciliationGateView, StrategyStateView } from './pre-trade-checks';

export abstract class CircuitBreakerSource {
  /** Synchronous, from memory; `readable` false when not confirmed recently. */
  abstract current(): CircuitBreakerView;
}

export abstract class ReconciliationGateSource {
  abstract current(): ReconciliationGateView;
}

export interface MarketInputs {
  /** The latest price; null when none is known (or it could not be read: see priceError). */
  price: PriceObservation | null;
  priceError?: string;
  adv: AverageDailyVolume | null;
}

export abstract class FatFingerSource {
  /** The fat-finger verdict with the thresholds in force for the symbol (unreadable thresholds refuse). */
  abstract check(order: OrderIntent, market: MarketInputs, now: Date): CheckResult;
}

export abstract class DailyPnlSource {
  /** Today's realized + unrealized P&L as a decimal string; null when it cannot be known. */
  abstract total(): Promise<string | null>;
}

/** A strategy's trading state (active, reducing, halted), synchronous, from memory. */
export interface StrategyStateSource {
  current(strategyId: string): StrategyStateView;
}

const UNBOUND: StrategyStateView = { readable: false, state: 'halted', reason: null, changedAt: null, changedBy: null };

/**
 * Where the pipeline reads strategy states: the strategies module (above
 * order-entry) binds its replicated state here when it starts. Until one is
 * bound, every strategy's state is unreadable, so orders are refused (fail
 * closed).
 */
export class StrategyStateGate {
  private source?: StrategyStateSource;

  bind(source: StrategyStateSource): void {
    this.source = source;
  }

  current(strategyId: string): StrategyStateView {
    return this.source?.current(strategyId) ?? UNBOUND;
  }
}
