import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';

export const METRIC = {
  orders: 'execution_gateway_orders_total',
  rejections: 'execution_gateway_order_rejections_total',
  httpDuration: 'execution_gateway_http_request_duration_seconds',
  brokerDuration: 'execution_gateway_broker_request_duration_seconds',
  circuitBreakerTripped: 'execution_gateway_circuit_breaker_tripped',
  circuitBreakerTrips: 'execution_gateway_circuit_breaker_trips_total',
  circuitBreakerCheckFailures: 'execution_gateway_circuit_breaker_check_failures_total',
  pacingQueueDepth: 'execution_gateway_broker_pacing_queue_depth',
  pacingBudgetUsed: 'execution_gateway_broker_pacing_budget_used',
  pacingBudget: 'execution_gateway_broker_pacing_budget',
  pacingWait: 'execution_gateway_broker_pacing_wait_seconds',
  pacingRateLimited: 'execution_gateway_broker_rate_limited_total',
} as const;

/** The gateway's own metrics, behind names that read well at the call site. */
@Injectable()
export class GatewayMetrics {
  constructor(
    @InjectMetric(METRIC.orders) private readonly orders: Counter<'status'>,
    @InjectMetric(METRIC.rejections) private readonly rejections: Counter<'reason'>,
    @InjectMetric(METRIC.httpDuration) private readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>,
    @InjectMetric(METRIC.brokerDuration) private readonly brokerDuration: Histogram<'operation' | 'outcome'>,
    @InjectMetric(METRIC.circuitBreakerTripped) private readonly breakerTripped: Gauge,
    @InjectMetric(METRIC.circuitBreakerTrips) private readonly breakerTrips: Counter<'reason_code'>,
    @InjectMetric(METRIC.circuitBreakerCheckFailures) private readonly breakerCheckFailures: Counter<'condition'>,
    @InjectMetric(METRIC.pacingQueueDepth) private readonly paceDepth: Gauge<'class'>,
    @InjectMetric(METRIC.pacingBudgetUsed) private readonly paceUsed: Gauge,
    @InjectMetric(METRIC.pacingBudget) private readonly paceBudget: Gauge,
    @InjectMetric(METRIC.pacingWait) private readonly paceWait: Histogram<'class'>,
    @InjectMetric(METRIC.pacingRateLimited) private readonly paceRateLimited: Counter,
  ) {}

  /** Broker calls of `cls` waiting for the shared budget on this replica (docs/broker-pacing.md). */
  pacingQueueDepth(cls: string, depth: number): void {
    this.paceDepth.set({ class: cls }, depth);
  }

  /** Calls counted in the current window, and the budget in force (shrunk after a 429). */
  pacingBudgetUsed(used: number, budget: number): void {
    this.paceUsed.set(used);
    this.paceBudget.set(budget);
  }

  /** How long one broker call of `cls` waited for its slot. */
  pacingWait(cls: string, seconds: number): void {
    this.paceWait.observe({ class: cls }, seconds);
  }

  /** The broker answered 429. */
  pacingRateLimited(): void {
    this.paceRateLimited.inc();
  }

  /** The circuit breaker's state as this replica sees it: 1 tripped, 0 open. */
  circuitBreakerState(tripped: boolean): void {
    this.breakerTripped.set(tripped ? 1 : 0);
  }

  /** A trip recorded by this replica. */
  circuitBreakerTripped(reasonCode: string): void {
    this.breakerTrips.inc({ reason_code: reasonCode });
  }

  /** A trip condition that could not be evaluated (not a trip). */
  circuitBreakerCheckFailed(condition: string): void {
    this.breakerCheckFailures.inc({ condition });
  }

  /** One broker call: `outcome` is `ok` or the BrokerError kind. */
  brokerCall(operation: string, outcome: string, seconds: number): void {
    this.brokerDuration.observe({ operation, outcome }, seconds);
  }

  /** An order entered `status`. */
  orderStatus(status: string): void {
    this.orders.inc({ status });
  }

  orderRejected(reason: string): void {
    this.rejections.inc({ reason });
  }

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }
}
