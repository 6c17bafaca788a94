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
  ) {}

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
