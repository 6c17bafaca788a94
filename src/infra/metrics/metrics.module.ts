import { Global, Module } from '@nestjs/common';
import {
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
  PrometheusModule,
} from '@willsoto/nestjs-prometheus';
import { GatewayMetrics, METRIC } from './gateway-metrics';
import { MetricsController } from './metrics.controller';
import { SCRAPE_GAUGE_PROVIDERS } from './scrape-gauges';

@Global()
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', controller: MetricsController })],
  providers: [
    makeCounterProvider({
      name: METRIC.orders,
      help: 'Orders entering each status',
      labelNames: ['status'],
    }),
    makeCounterProvider({
      name: METRIC.rejections,
      help: 'Orders refused, by stable reason code',
      labelNames: ['reason'],
    }),
    makeHistogramProvider({
      name: METRIC.httpDuration,
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    makeHistogramProvider({
      name: METRIC.brokerDuration,
      help: 'Broker call latency, by operation and outcome (ok or the error kind)',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    makeGaugeProvider({
      name: METRIC.circuitBreakerTripped,
      help: 'Circuit breaker as this replica sees it: 1 tripped, 0 open',
    }),
    makeCounterProvider({
      name: METRIC.circuitBreakerTrips,
      help: 'Circuit breaker trips recorded, by reason code',
      labelNames: ['reason_code'],
    }),
    makeCounterProvider({
      name: METRIC.circuitBreakerCheckFailures,
      help: 'Circuit breaker conditions that could not be evaluated, by condition',
      labelNames: ['condition'],
    }),
    makeGaugeProvider({
      name: METRIC.pacingQueueDepth,
      help: 'Broker calls waiting for the shared outbound budget on this replica, by class',
      labelNames: ['class'],
    }),
    makeGaugeProvider({
      name: METRIC.pacingBudgetUsed,
      help: 'Broker trading calls counted in the current window (all replicas)',
    }),
    makeGaugeProvider({
      name: METRIC.pacingBudget,
      help: 'Broker trading calls allowed per window now (the configured budget, or less after a 429)',
    }),
    makeHistogramProvider({
      name: METRIC.pacingWait,
      help: 'Time a broker call waited for a slot of the outbound budget, by class',
      labelNames: ['class'],
      buckets: [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    }),
    makeCounterProvider({
      name: METRIC.pacingRateLimited,
      help: 'Broker answers 429 (rate limited)',
    }),
    ...SCRAPE_GAUGE_PROVIDERS,
    GatewayMetrics,
  ],
  exports: [GatewayMetrics],
})
export class MetricsModule {}
