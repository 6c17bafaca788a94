import { Injectable } from '@nestjs/common';
import {
  InjectMetric,
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';

export const RECONCILIATION_METRIC = {
  runs: 'execution_gateway_reconciliation_runs_total',
  duration: 'execution_gateway_reconciliation_run_duration_seconds',
  findings: 'execution_gateway_reconciliation_findings_total',
  openMismatches: 'execution_gateway_reconciliation_open_findings',
  sinceSuccess: 'execution_gateway_reconciliation_seconds_since_success',
  gateOpen: 'execution_gateway_reconciliation_gate_open',
} as const;

/** Set by the gate service on every read, so the gauges below answer from memory at scrape time. */
export interface ReconciliationGaugeSource {
  lastSuccessAt(): Date | null;
  /** Now, on the database's clock. */
  dbNowMs(): number;
  gateOpen(): boolean;
}

let source: ReconciliationGaugeSource | null = null;

export const RECONCILIATION_METRIC_PROVIDERS = [
  makeCounterProvider({
    name: RECONCILIATION_METRIC.runs,
    help: 'Reconciliation runs performed by this replica, by outcome (ok, failed)',
    labelNames: ['outcome'],
  }),
  makeHistogramProvider({
    name: RECONCILIATION_METRIC.duration,
    help: 'Duration of reconciliation runs',
    labelNames: ['outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  }),
  makeCounterProvider({
    name: RECONCILIATION_METRIC.findings,
    help: 'New reconciliation findings, by kind (orphan, missing_fill, position_mismatch, status_mismatch)',
    labelNames: ['kind'],
  }),
  makeGaugeProvider({
    name: RECONCILIATION_METRIC.openMismatches,
    help: 'Unresolved reconciliation findings, by kind (as of the last run on this replica)',
    labelNames: ['kind'],
  }),
  makeGaugeProvider({
    name: RECONCILIATION_METRIC.sinceSuccess,
    help: 'Seconds since the last successful reconciliation run (any replica); -1 before the first',
    collect(this: Gauge) {
      const at = source?.lastSuccessAt() ?? null;
      this.set(at === null || !source ? -1 : Math.max(0, (source.dbNowMs() - at.getTime()) / 1000));
    },
  }),
  makeGaugeProvider({
    name: RECONCILIATION_METRIC.gateOpen,
    help: 'Startup reconciliation gate on this replica: 1 open, 0 closed (only reduce-only orders pass)',
    collect(this: Gauge) {
      this.set(source?.gateOpen() ? 1 : 0);
    },
  }),
];

@Injectable()
export class ReconciliationMetrics {
  constructor(
    @InjectMetric(RECONCILIATION_METRIC.runs) private readonly runs: Counter<'outcome'>,
    @InjectMetric(RECONCILIATION_METRIC.duration) private readonly duration: Histogram<'outcome'>,
    @InjectMetric(RECONCILIATION_METRIC.findings) private readonly findings: Counter<'kind'>,
    @InjectMetric(RECONCILIATION_METRIC.openMismatches) private readonly open: Gauge<'kind'>,
  ) {}

  bind(s: ReconciliationGaugeSource): void {
    source = s;
  }

  run(ok: boolean, seconds: number): void {
    const outcome = ok ? 'ok' : 'failed';
    this.runs.inc({ outcome });
    this.duration.observe({ outcome }, seconds);
  }

  newFinding(kind: string): void {
    this.findings.inc({ kind });
  }

  openFindings(byKind: Record<string, number>): void {
    for (const [kind, n] of Object.entries(byKind)) this.open.set({ kind }, n);
  }
}
