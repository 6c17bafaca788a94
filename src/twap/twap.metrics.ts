import { Injectable } from '@nestjs/common';
import {
  InjectMetric,
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';

export const TWAP_METRIC = {
  sliceLag: 'execution_gateway_twap_slice_lag_seconds',
  slices: 'execution_gateway_twap_slices_total',
  plans: 'execution_gateway_twap_plans',
  shortfall: 'execution_gateway_twap_shortfall_shares_total',
} as const;

export const TWAP_METRIC_PROVIDERS = [
  makeHistogramProvider({
    name: TWAP_METRIC.sliceLag,
    help: 'TWAP slice lag: when the slice was sent (its order written and dispatched) minus when it was due',
    buckets: [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10, 30, 60],
  }),
  makeCounterProvider({
    name: TWAP_METRIC.slices,
    help: 'TWAP slices handled by this replica, by outcome (sent, expired, skipped, refused, blocked_kill_switch, blocked_circuit_breaker, blocked_strategy_halted, canceled)',
    labelNames: ['outcome'],
  }),
  makeGaugeProvider({
    name: TWAP_METRIC.plans,
    help: 'TWAP plans by status (scheduled, active, completed, canceled, expired), as of the last count on this replica',
    labelNames: ['status'],
  }),
  makeCounterProvider({
    name: TWAP_METRIC.shortfall,
    help: 'Shares of completed TWAP plans left unfilled when their window ended (settled by this replica)',
  }),
];

@Injectable()
export class TwapMetrics {
  constructor(
    @InjectMetric(TWAP_METRIC.sliceLag) private readonly lag: Histogram,
    @InjectMetric(TWAP_METRIC.slices) private readonly slices: Counter<'outcome'>,
    @InjectMetric(TWAP_METRIC.plans) private readonly plans: Gauge<'status'>,
    @InjectMetric(TWAP_METRIC.shortfall) private readonly shortfall: Counter,
  ) {}

  sliceSent(lagSeconds: number): void {
    this.lag.observe(Math.max(0, lagSeconds));
    this.slices.inc({ outcome: 'sent' });
  }

  sliceOutcome(outcome: string): void {
    this.slices.inc({ outcome });
  }

  plansByStatus(counts: Record<string, number>, statuses: readonly string[]): void {
    for (const status of statuses) this.plans.set({ status }, counts[status] ?? 0);
  }

  shortfallShares(qty: number): void {
    if (qty > 0) this.shortfall.inc(qty);
  }
}
