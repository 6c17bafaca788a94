/**
 * The `pipeline` phase: what the pre-trade checks cost. The DRY_RUN gateway
 * runs with every check on (dist/src/main.js) and with the checks switched off
 * (dist/bench/unchecked-gateway.js, the same app with PreTradeSwitch off),
 * each on a fresh database under the same load, alternating (checked,
 * unchecked, checked, ...) so that a slow spell of a noisy machine does not
 * land on one variant only. The figures are the means over the rounds.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { ChildServer, freePort, ServerSpec, startServer } from './child';
import {
  BenchConfig,
  DIST,
  log,
  ORDERS_PATH,
  OTHER_CPU_WARN_PCT,
  printTargets,
  REDIS_KEY_PREFIX,
  TargetCheck,
} from './config';
import { cpuBetween, CpuUsage, snapshotCpu } from './cpu';
import { checkpoint, recreateDatabase } from './database';
import { gatewayEntry, gatewayOverrides, profileArgs, serverSpec } from './gateway-spec';
import { LoadSummary, round, runLoad } from './load';

export type PipelineVariant = 'checked' | 'unchecked';
export const PIPELINE_VARIANTS: readonly PipelineVariant[] = ['checked', 'unchecked'];

/** The order the load sends: a market buy of one share, well inside every limit. */
export const PIPELINE_ORDER = { symbol: 'AAPL', side: 'buy', qty: 1 } as const;

/** How long a started gateway may take to open its reconciliation gate and accept a first order. */
const ADMIT_TIMEOUT_MS = 30_000;

export interface PipelineRun extends LoadSummary {
  variant: PipelineVariant;
  round: number;
  cpu: CpuUsage;
  /** Start of the process until its first order was accepted (the reconciliation gate open). */
  admittedAfterMs: number;
}

export interface PipelineVariantSummary {
  runs: number;
  /** Means over the runs. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverUsPerRequest: number | null;
  postgresUsPerRequest: number | null;
  errors: number;
  statusCodes: Record<string, number>;
}

export interface PipelineResult {
  rounds: number;
  runs: PipelineRun[];
  checked: PipelineVariantSummary;
  unchecked: PipelineVariantSummary;
  /** 1 − checked req/s ÷ unchecked req/s, in percent (null when unchecked served nothing). */
  costPct: number | null;
  /** Checked server CPU per request over unchecked, minus one, in percent: the steadier figure on a busy machine. */
  cpuCostPct: number | null;
}

export interface PipelinePhaseOptions {
  pgAdminUrl: string;
  databaseName: string;
  /** The server of one run: the variant's entry point and environment, on `port`, with `databaseUrl`. */
  spec: (variant: PipelineVariant, runNo: number, databaseUrl: string, port: number) => ServerSpec;
  adminKey: string;
  path: string;
  rounds: number;
  connections: number;
  durationS: number;
  warmupS: number;
  signal: AbortSignal;
  log: (message: string) => void;
}

export async function runPipelinePhase(o: PipelinePhaseOptions): Promise<PipelineResult> {
  const runs: PipelineRun[] = [];
  for (let n = 1; n <= o.rounds; n++) {
    for (const variant of PIPELINE_VARIANTS) {
      if (o.signal.aborted) throw new Error('interrupted');
      runs.push(await measureVariant(o, variant, n));
    }
  }
  const checked = summarize(runs.filter((r) => r.variant === 'checked'));
  const unchecked = summarize(runs.filter((r) => r.variant === 'unchecked'));
  const costPct = unchecked.rps > 0 ? round(100 * (1 - checked.rps / unchecked.rps), 1) : null;
  const cpuCostPct =
    checked.serverUsPerRequest !== null && unchecked.serverUsPerRequest
      ? round(100 * (checked.serverUsPerRequest / unchecked.serverUsPerRequest - 1), 1)
      : null;
  return { rounds: o.rounds, runs, checked, unchecked, costPct, cpuCostPct };
}

async function measureVariant(o: PipelinePhaseOptions, variant: PipelineVariant, runNo: number): Promise<PipelineRun> {
  const databaseUrl = await recreateDatabase(o.pgAdminUrl, o.databaseName);
  if (!(await checkpoint(o.pgAdminUrl))) o.log('CHECKPOINT not permitted for the admin role; runs may interfere');
  const port = await freePort();
  const label = `pipeline ${variant} #${runNo}`;
  o.log(`${label}: starting on 127.0.0.1:${port}`);
  const startedAt = performance.now();
  const server = await startServer(o.spec(variant, runNo, databaseUrl, port));
  try {
    await waitUntilAdmitting(server, o.adminKey, o.path, label, o.log);
    const admittedAfterMs = round1(performance.now() - startedAt);
    const runId = `${variant[0]}${runNo}${randomBytes(3).toString('hex')}`;
    let n = 0;
    const load = {
      baseUrl: server.baseUrl,
      path: o.path,
      headers: { authorization: `Bearer ${o.adminKey}` },
      nextBody: () => JSON.stringify({ ...PIPELINE_ORDER, idempotency_key: `p-${runId}-${++n}` }),
      connections: o.connections,
      signal: o.signal,
    };
    if (o.warmupS > 0) {
      o.log(`${label}: warming up for ${o.warmupS} s`);
      await runLoad({ ...load, durationS: o.warmupS });
      if (o.signal.aborted) throw new Error('interrupted');
    }
    o.log(
      `${label}: accepting orders ${(admittedAfterMs / 1000).toFixed(1)} s after its start; measuring for ${o.durationS} s at ${o.connections} connections`,
    );
    const before = snapshotCpu(server.pid);
    const result = await runLoad({ ...load, durationS: o.durationS });
    const cpu = cpuBetween(before, snapshotCpu(server.pid), result.requests);
    const exited = server.exitStatus();
    if (exited) throw new Error(`${label} ${exited} during the run; its last output:\n${server.outputTail()}`);
    if (result.errors > 0) {
      o.log(`${label}: ${result.errors} errors, status codes ${JSON.stringify(result.statusCodes)}; last output:`);
      o.log(server.outputTail() || '(none)');
    }
    return { ...result, variant, round: runNo, cpu, admittedAfterMs };
  } finally {
    await server.stop();
  }
}

/**
 * Until the gateway accepts an order: the reconciliation gate is closed at
 * boot and opens after the first run, and an order refused meanwhile (503)
 * is an error, not throughput. Polls GET /health for the gate, then sends one
 * order, which must be answered 201.
 */
export async function waitUntilAdmitting(
  server: ChildServer,
  adminKey: string,
  path: string,
  label: string,
  log: (message: string) => void,
): Promise<void> {
  const deadline = Date.now() + ADMIT_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const exited = server.exitStatus();
    if (exited) throw new Error(`${label} ${exited}; its last output:\n${server.outputTail()}`);
    try {
      const health = await fetch(`${server.baseUrl}/health`, {
        headers: { authorization: `Bearer ${adminKey}` },
        signal: AbortSignal.timeout(2_000),
      });
      const text = await health.text();
      if (/"gate"\s*:\s*"open"/.test(text)) {
        const res = await fetch(`${server.baseUrl}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ...PIPELINE_ORDER, idempotency_key: `probe-${randomBytes(6).toString('hex')}` }),
          signal: AbortSignal.timeout(5_000),
        });
        const body = await res.text();
        if (res.status === 201) return;
        last = `probe order answered ${res.status}: ${body.slice(0, 300)}`;
      } else {
        last = `GET /health: ${text.slice(0, 300)}`;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  log(`${label}: last output:\n${server.outputTail() || '(none)'}`);
  throw new Error(`${label} did not accept an order within ${ADMIT_TIMEOUT_MS / 1000} s; last: ${last}`);
}

function summarize(runs: PipelineRun[]): PipelineVariantSummary {
  const mean = (pick: (r: PipelineRun) => number | null): number | null => {
    const xs = runs.map(pick);
    if (xs.length === 0 || xs.some((x) => x === null)) return null;
    return round1((xs as number[]).reduce((a, b) => a + b, 0) / xs.length);
  };
  const statusCodes: Record<string, number> = {};
  for (const r of runs) {
    for (const [code, count] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }
  return {
    runs: runs.length,
    rps: mean((r) => r.rps) ?? 0,
    p50Ms: mean((r) => r.latencyMs.p50) ?? 0,
    p99Ms: mean((r) => r.latencyMs.p99) ?? 0,
    maxMs: Math.max(0, ...runs.map((r) => r.latencyMs.max)),
    serverUsPerRequest: mean((r) => r.cpu.serverUsPerRequest),
    postgresUsPerRequest: mean((r) => r.cpu.postgresUsPerRequest),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    statusCodes,
  };
}

function round1(n: number): number {
  return round(n, 1);
}

/** The phase's printed report (the target line is printed by the caller with the others). */
export function formatPipelineReport(
  r: PipelineResult,
  cfg: { connections: number; durationS: number; warmupS: number },
  otherCpuWarnPct: number,
): string[] {
  const row = (cells: Array<string | number>, widths: number[]) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const widths = [14, 9, 7, 7, 7, 8, 9, 8, 7, 13, 15];
  const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  const out = [
    '',
    `pre-trade pipeline: DRY_RUN gateway with every check on (checked) and off (unchecked), distinct orders, ${cfg.connections} connections, ${cfg.durationS} s each (after ${cfg.warmupS} s warm-up), ${r.rounds} round(s) alternating on fresh databases`,
    '',
    row(
      [
        '',
        'req/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors',
        'requests',
        'server %',
        'other %',
        'server us/req',
        'postgres us/req',
      ],
      widths,
    ),
  ];
  for (const run of r.runs) {
    out.push(
      row(
        [
          `${run.variant} #${run.round}`,
          run.rps.toFixed(1),
          run.latencyMs.p50,
          run.latencyMs.p99,
          run.latencyMs.max,
          run.errors,
          run.requests,
          fmt(run.cpu.serverPct),
          fmt(run.cpu.otherPct),
          fmt(run.cpu.serverUsPerRequest),
          fmt(run.cpu.postgresUsPerRequest),
        ],
        widths,
      ),
    );
  }
  for (const variant of PIPELINE_VARIANTS) {
    const s = r[variant];
    out.push(
      row(
        [
          `${variant} mean`,
          s.rps.toFixed(1),
          s.p50Ms.toFixed(1),
          s.p99Ms.toFixed(1),
          s.maxMs,
          s.errors,
          '',
          '',
          '',
          fmt(s.serverUsPerRequest),
          fmt(s.postgresUsPerRequest),
        ],
        widths,
      ),
    );
  }
  out.push(
    '',
    `  cost of the checks: 1 - checked/unchecked req/s = ${r.costPct === null ? 'n/a' : `${r.costPct.toFixed(1)} %`}` +
      `; server CPU per request ${r.cpuCostPct === null ? 'n/a' : `${r.cpuCostPct >= 0 ? '+' : ''}${r.cpuCostPct.toFixed(1)} %`}`,
  );
  for (const variant of PIPELINE_VARIANTS) {
    const s = r[variant];
    if (s.errors > 0)
      out.push(
        `  ${variant} errors: status codes ${JSON.stringify(s.statusCodes)} (a refused order is not throughput)`,
      );
  }
  const busiest = Math.max(0, ...r.runs.map((run) => run.cpu.otherPct ?? 0));
  if (busiest > otherCpuWarnPct) {
    out.push(`  warning: other processes used up to ${busiest.toFixed(0)}% of a core during a run; figures are skewed`);
  }
  return out;
}

/** The pipeline phase's database, fresh for each of its runs, and its target: the checks cost at most this share of throughput. */
const PIPELINE_DATABASE_NAME = 'eg_bench_pipeline';
const MAX_PIPELINE_COST_PCT = 15;

/**
 * One run of the pipeline phase: the DRY_RUN gateway's environment (and
 * BENCH_GATEWAY_* overrides, which still win) with limits that refuse nothing;
 * `checked` is the normal entry point, `unchecked` the benchmark-only one with
 * the pre-trade checks off. Redis keys of its own per run.
 */
function pipelineSpec(
  variant: PipelineVariant,
  runNo: number,
  cfg: BenchConfig,
  databaseUrl: string,
  adminKey: string,
  port: number,
): ServerSpec {
  const spec = serverSpec('gateway', cfg, databaseUrl, adminKey, port);
  return {
    ...spec,
    name: `gateway pipeline ${variant} #${runNo}`,
    script: variant === 'checked' ? gatewayEntry() : join(DIST, 'bench', 'unchecked-gateway.js'),
    nodeArgs: profileArgs(cfg, 'pipeline').map((a) =>
      a.replace('--cpu-prof-name=pipeline-', `--cpu-prof-name=pipeline-${variant}-${runNo}-`),
    ),
    env: {
      ...spec.env,
      ...gatewayOverrides(),
      REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}pipeline:${variant}${runNo}:`,
    },
  };
}

export function measurePipeline(cfg: BenchConfig, adminKey: string, signal: AbortSignal): Promise<PipelineResult> {
  return runPipelinePhase({
    pgAdminUrl: cfg.pgAdminUrl,
    databaseName: PIPELINE_DATABASE_NAME,
    spec: (variant, runNo, databaseUrl, port) => pipelineSpec(variant, runNo, cfg, databaseUrl, adminKey, port),
    adminKey,
    path: ORDERS_PATH,
    rounds: cfg.pipelineRounds,
    connections: cfg.connections,
    durationS: cfg.durationS,
    warmupS: cfg.warmupS,
    signal,
    log,
  });
}

export function checkPipeline(r: PipelineResult | undefined): TargetCheck[] {
  if (!r) return [];
  return [
    {
      name: `checks cost <= ${MAX_PIPELINE_COST_PCT} % of throughput`,
      value: r.costPct === null ? 'n/a' : `${r.costPct.toFixed(1)} %`,
      // Refused orders are not throughput: any error in the checked runs makes the comparison unfair.
      pass: r.costPct === null ? false : r.costPct <= MAX_PIPELINE_COST_PCT && r.checked.errors === 0,
    },
  ];
}

export function printPipelineReport(r: PipelineResult, cfg: BenchConfig, checks: TargetCheck[]): void {
  process.stdout.write(`${formatPipelineReport(r, cfg, OTHER_CPU_WARN_PCT).join('\n')}\n`);
  printTargets('target', checks);
}
