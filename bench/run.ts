/**
 * `npm run bench`: load-tests POST /api/v1/orders on the real gateway and on a
 * bare node:http + pg + ioredis baseline, under the same load, one after the
 * other, and reports the gateway's throughput as a fraction of the baseline's.
 * See bench/README.md for the knobs and how to read the output.
 *
 * Runs from dist/ (the npm script builds first): dist/bench/run.js.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ChildServer, freePort, killAllChildren, ServerSpec, startServer } from './child';
import { cpuBetween, CpuUsage, snapshotCpu } from './cpu';
import { checkpoint, recreateDatabase } from './database';
import { LatencyResult, LiveResult, MissingEndpointError, Percentiles, runLatencyPhase, runLivePhase } from './live';
import { LoadSummary, round, runLoad } from './load';
import { formatReconciliationReport, ReconciliationBenchResult, runReconciliationPhase } from './reconciliation';
import { formatPipelineReport, PipelineResult, PipelineVariant, runPipelinePhase } from './pipeline';
import { formatPropagationReport, PropagationResult, runPropagationPhase } from './propagation';

const ROOT = resolve(__dirname, '..', '..');
const DIST = resolve(__dirname, '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');
const ORDERS_PATH = '/api/v1/orders';
const DATABASE_NAME = 'eg_bench';
/** The live phases' own databases, fresh for each phase. */
const LIVE_DATABASE_NAMES = { live: 'eg_bench_live', latency: 'eg_bench_latency' } as const;
const REDIS_KEY_PREFIX = 'eg_bench:';
const READY_TIMEOUT_MS = 60_000;
/** Above this much CPU (% of one core) used by unrelated processes during a run, the report says the figures are skewed. */
const OTHER_CPU_WARN_PCT = 20;

/** This milestone's targets. */
const TARGETS = { minRatio: 0.25, maxGatewayP99Ms: 50, maxGatewayErrors: 0 };
/** SPEC: broker fill → Server-Sent Event received, p99. */
const MAX_FILL_TO_EVENT_P99_MS = 100;
/** How long after the live load its orders may still take to fill. */
const LIVE_SETTLE_S = 5;
/** ...and how much longer the rest are watched, to report when the backlog clears. */
const LIVE_DRAIN_S = 55;
/** The latency phase's wait for one order's fill event, and its bound on sending orders. */
const LATENCY_EVENT_TIMEOUT_MS = 5_000;
const LATENCY_MAX_S = 60;
/** Up to this long a random pause before each latency order: one publisher polling period. */
const LATENCY_JITTER_MS = 200;
/** The pipeline phase's database, fresh for each of its runs, and its target: the checks cost at most this share of throughput. */
const PIPELINE_DATABASE_NAME = 'eg_bench_pipeline';
const MAX_PIPELINE_COST_PCT = 15;
/**
 * Limits far above what the bench orders (market buys of 1 share, DRY_RUN, so
 * never open) could reach, so that the checks run in full but refuse nothing.
 * The reconciliation gate opens after the first run, started at once.
 */
/**
 * Every gateway phase: the startup reconciliation at once, and limits that the load's orders
 * never reach (a refused order would count as an error, not throughput).
 */
const GATEWAY_CHECKS_ENV = {
  RECONCILIATION_STARTUP_DELAY_SECONDS: '0',
  FAT_FINGER_MAX_NOTIONAL: '100000000',
  FAT_FINGER_MAX_QTY: '1000000',
  MAX_POSITION_SIZE: '100000000',
  MAX_POSITION_PCT: '1',
  MAX_OPEN_ORDERS_PER_STRATEGY: '1000000',
};
/** The propagation phase: both instances' database, and SPEC's bound on a kill-switch change reaching every replica. */
const PROPAGATION_DATABASE_NAME = 'eg_bench_propagation';
const MAX_PROPAGATION_MS = 1_000;
const PROPAGATION_POLL_MS = 2;
/** Up to this long a random pause before each change: one periodic re-read (250 ms) of the replicas. */
const PROPAGATION_JITTER_MS = 250;

type Side = 'baseline' | 'gateway';
type LivePhase = 'live' | 'latency';
type SafetyPhase = 'pipeline' | 'propagation';
type Phase = Side | LivePhase | SafetyPhase | 'reconciliation';
const PHASES: readonly Phase[] = [
  'baseline',
  'gateway',
  'live',
  'latency',
  'pipeline',
  'propagation',
  'reconciliation',
];

interface SideResult extends LoadSummary {
  cpu: CpuUsage;
}

interface BenchConfig {
  durationS: number;
  warmupS: number;
  connections: number;
  pgAdminUrl: string;
  redisUrl: string;
  only?: Phase;
  cpuProfile: boolean;
  strict: boolean;
  latencyOrders: number;
  latencyConcurrency: number;
  pipelineRounds: number;
  propagationRounds: number;
}

function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  const only = env.BENCH_ONLY?.trim() || undefined;
  if (only !== undefined && !(PHASES as readonly string[]).includes(only)) {
    throw new Error(`BENCH_ONLY must be one of ${PHASES.join(', ')}`);
  }
  return {
    durationS: int('BENCH_DURATION_S', 15, 1, 600),
    warmupS: int('BENCH_WARMUP_S', 2, 0, 60),
    connections: int('BENCH_CONNECTIONS', 32, 1, 1024),
    pgAdminUrl: env.BENCH_PG_ADMIN_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: env.BENCH_REDIS_URL?.trim() || 'redis://127.0.0.1:6379/0',
    only: only as Phase | undefined,
    cpuProfile: env.BENCH_CPU_PROF === '1',
    strict: env.BENCH_STRICT === '1',
    latencyOrders: int('BENCH_LATENCY_ORDERS', 200, 1, 10_000),
    latencyConcurrency: int('BENCH_LATENCY_CONCURRENCY', 4, 1, 64),
    pipelineRounds: int('BENCH_PIPELINE_ROUNDS', 2, 1, 10),
    propagationRounds: int('BENCH_PROPAGATION_ROUNDS', 20, 1, 1000),
  };
}

/** Children get a clean environment: whatever the caller exported (DATABASE_URL, broker keys...) must not leak in. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ']) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
}

/** Another build's entry point, to compare a variant against the same baseline; normally this build's. */
function gatewayEntry(): string {
  return process.env.BENCH_GATEWAY_ENTRY?.trim() || join(DIST, 'src', 'main.js');
}

/** BENCH_GATEWAY_<NAME>=value reaches the gateway as <NAME>=value, to compare variants (e.g. LOG_LEVEL=info). */
function gatewayOverrides(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('BENCH_GATEWAY_') && name !== 'BENCH_GATEWAY_ENTRY' && value !== undefined) {
      env[name.slice('BENCH_GATEWAY_'.length)] = value;
    }
  }
  return env;
}

function profileArgs(cfg: BenchConfig, side: Phase): string[] {
  if (!cfg.cpuProfile) return [];
  return [
    '--require',
    join(__dirname, 'exit-on-signal.js'),
    '--cpu-prof',
    `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`,
    `--cpu-prof-name=${side}-${Date.now()}.cpuprofile`,
  ];
}

function serverSpec(side: Side, cfg: BenchConfig, databaseUrl: string, adminKey: string, port: number): ServerSpec {
  const shared = {
    port,
    // Up, and the startup reconciliation done: until then only reduce-only orders would pass.
    readyPath: '/health',
    readyBody: /"reconciliation_gate":\{[^}]*"gate":"open"/,
    readyTimeoutMs: READY_TIMEOUT_MS,
    nodeArgs: profileArgs(cfg, side),
  };
  if (side === 'baseline') {
    return {
      ...shared,
      readyPath: '/health/ready',
      readyBody: undefined,
      name: 'baseline',
      script: join(DIST, 'bench', 'baseline-server.js'),
      env: {
        ...baseEnv(),
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        REDIS_URL: cfg.redisUrl,
        REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}baseline:`,
      },
    };
  }
  return {
    ...shared,
    name: 'gateway',
    script: gatewayEntry(),
    env: {
      ...baseEnv(),
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: cfg.redisUrl,
      REDIS_KEY_PREFIX,
      ADMIN_API_KEY: adminKey,
      DRY_RUN: 'true',
      // A line per request at info would measure the log sink (a pipe here) too; warn keeps errors visible.
      LOG_LEVEL: 'warn',
      // The per-minute limiter must not turn the load into 429s; it still runs, it just never trips.
      ORDER_SUBMIT_RATE_LIMIT: '1000000',
      ...GATEWAY_CHECKS_ENV,
      ...gatewayOverrides(),
    },
  };
}

/**
 * The gateway trading for real against its in-process simulated broker: the
 * DRY_RUN gateway's environment with DRY_RUN=false, BROKER=sim (never a real
 * broker, whatever BENCH_GATEWAY_* says) and Redis keys of its own.
 */
function liveSpec(phase: LivePhase, cfg: BenchConfig, databaseUrl: string, adminKey: string, port: number): ServerSpec {
  const spec = serverSpec('gateway', cfg, databaseUrl, adminKey, port);
  return {
    ...spec,
    name: `gateway ${phase}`,
    nodeArgs: profileArgs(cfg, phase),
    env: { ...spec.env, REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}${phase}:`, DRY_RUN: 'false', BROKER: 'sim' },
  };
}

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

/** An instance of the propagation phase: both on one database and one Redis key prefix, as replicas are. */
function propagationSpec(
  name: 'A' | 'B',
  cfg: BenchConfig,
  databaseUrl: string,
  adminKey: string,
  port: number,
): ServerSpec {
  const spec = serverSpec('gateway', cfg, databaseUrl, adminKey, port);
  return {
    ...spec,
    name: `gateway propagation ${name}`,
    nodeArgs: profileArgs(cfg, 'propagation').map((a) =>
      a.replace('--cpu-prof-name=propagation-', `--cpu-prof-name=propagation-${name}-`),
    ),
    env: {
      ...spec.env,
      ...gatewayOverrides(),
      REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}propagation:`,
    },
  };
}

function measurePipeline(cfg: BenchConfig, adminKey: string, signal: AbortSignal): Promise<PipelineResult> {
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

function measurePropagation(cfg: BenchConfig, adminKey: string, signal: AbortSignal): Promise<PropagationResult> {
  return runPropagationPhase({
    pgAdminUrl: cfg.pgAdminUrl,
    databaseName: PROPAGATION_DATABASE_NAME,
    spec: (name, databaseUrl, port) => propagationSpec(name, cfg, databaseUrl, adminKey, port),
    adminKey,
    ordersPath: ORDERS_PATH,
    rounds: cfg.propagationRounds,
    pollIntervalMs: PROPAGATION_POLL_MS,
    jitterMs: PROPAGATION_JITTER_MS,
    signal,
    log,
  });
}

function checkPipeline(r: PipelineResult | undefined): TargetCheck[] {
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

function checkPropagation(r: PropagationResult | undefined): TargetCheck[] {
  if (!r) return [];
  const check = (what: string, p: PropagationResult['engageMs'], missed: number): TargetCheck => ({
    name: `kill switch ${what} on B, max <= ${MAX_PROPAGATION_MS} ms`,
    value: p ? `${p.max.toFixed(1)} ms` : 'n/a',
    pass: p !== null && missed === 0 && p.max <= MAX_PROPAGATION_MS,
  });
  return [check('engage', r.engageMs, r.engageMissed), check('release', r.releaseMs, r.releaseMissed)];
}

function printTargets(title: string, checks: TargetCheck[]): void {
  const out = ['', title];
  for (const c of checks) {
    out.push(`  ${c.name.padEnd(40)} ${c.value.padStart(9)}  ${c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'FAIL'}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Distinct order bodies: a fixed body would make every request after the first an idempotent replay. */
function orderBodies(runId: string): () => string {
  let n = 0;
  return () => JSON.stringify({ symbol: 'AAPL', side: 'buy', qty: 1, idempotency_key: `b-${runId}-${++n}` });
}

async function measure(
  side: Side,
  cfg: BenchConfig,
  databaseUrl: string,
  adminKey: string,
  signal: AbortSignal,
): Promise<SideResult> {
  const port = await freePort();
  log(`${side}: starting on 127.0.0.1:${port}`);
  const server = await startServer(serverSpec(side, cfg, databaseUrl, adminKey, port));
  try {
    const load = {
      baseUrl: server.baseUrl,
      path: ORDERS_PATH,
      headers: { authorization: `Bearer ${adminKey}` },
      nextBody: orderBodies(`${side[0]}${randomBytes(3).toString('hex')}`),
      connections: cfg.connections,
      signal,
    };
    if (cfg.warmupS > 0) {
      log(`${side}: warming up for ${cfg.warmupS} s`);
      await runLoad({ ...load, durationS: cfg.warmupS });
      if (signal.aborted) throw new Error('interrupted');
    }
    log(`${side}: measuring for ${cfg.durationS} s at ${cfg.connections} connections`);
    const before = snapshotCpu(server.pid);
    const result = await runLoad({ ...load, durationS: cfg.durationS });
    const cpu = cpuBetween(before, snapshotCpu(server.pid), result.requests);
    const exited = server.exitStatus();
    if (exited) throw new Error(`${side} ${exited} during the run; its last output:\n${server.outputTail()}`);
    if (result.errors > 0) log(`${side}: last output:\n${server.outputTail() || '(none)'}`);
    return { ...result, cpu };
  } finally {
    await server.stop();
  }
}

interface TargetCheck {
  name: string;
  value: string;
  pass: boolean | null;
}

function checkTargets(baseline?: SideResult, gateway?: SideResult): { ratio: number | null; checks: TargetCheck[] } {
  const ratio = baseline && gateway && baseline.rps > 0 ? round(gateway.rps / baseline.rps, 3) : null;
  const checks: TargetCheck[] = [
    {
      name: `ratio gateway/baseline >= ${TARGETS.minRatio}`,
      value: ratio === null ? 'n/a' : ratio.toFixed(3),
      pass: ratio === null ? null : ratio >= TARGETS.minRatio,
    },
    {
      name: `gateway p99 <= ${TARGETS.maxGatewayP99Ms} ms`,
      value: gateway ? `${gateway.latencyMs.p99} ms` : 'n/a',
      pass: gateway ? gateway.latencyMs.p99 <= TARGETS.maxGatewayP99Ms : null,
    },
    {
      name: `gateway errors == ${TARGETS.maxGatewayErrors}`,
      value: gateway ? String(gateway.errors) : 'n/a',
      pass: gateway ? gateway.errors <= TARGETS.maxGatewayErrors : null,
    },
  ];
  return { ratio, checks };
}

function printReport(
  cfg: BenchConfig,
  results: Partial<Record<Side, SideResult>>,
  ratio: number | null,
  checks: TargetCheck[],
): void {
  const row = (cells: Array<string | number>, widths: number[]) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const widths = [10, 9, 7, 7, 7, 8, 9];
  const out: string[] = [
    '',
    `POST ${ORDERS_PATH}, distinct orders, ${cfg.connections} connections, ${cfg.durationS} s each (after ${cfg.warmupS} s warm-up)`,
    '',
    row(['', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'requests'], widths),
  ];
  for (const side of ['baseline', 'gateway'] as const) {
    const r = results[side];
    if (!r) continue;
    out.push(
      row([side, r.rps.toFixed(1), r.latencyMs.p50, r.latencyMs.p99, r.latencyMs.max, r.errors, r.requests], widths),
    );
  }
  const cpuWidths = [10, 7, 9, 6, 9, 6, 14, 16];
  const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(0));
  out.push(
    '',
    `CPU during the measured run (% of one core; ${cpus().length} cores in all)`,
    row(['', 'server', 'postgres', 'redis', 'load gen', 'other', 'server us/req', 'postgres us/req'], cpuWidths),
  );
  for (const side of ['baseline', 'gateway'] as const) {
    const c = results[side]?.cpu;
    if (!c) continue;
    out.push(
      row(
        [
          side,
          fmt(c.serverPct),
          fmt(c.postgresPct),
          fmt(c.redisPct),
          fmt(c.loadGeneratorPct),
          fmt(c.otherPct),
          fmt(c.serverUsPerRequest),
          fmt(c.postgresUsPerRequest),
        ],
        cpuWidths,
      ),
    );
  }
  out.push('', `ratio gateway_rps / baseline_rps: ${ratio === null ? 'n/a' : ratio.toFixed(3)}`, '', 'targets');
  for (const c of checks) {
    out.push(`  ${c.name.padEnd(34)} ${c.value.padStart(9)}  ${c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'FAIL'}`);
  }
  for (const side of ['baseline', 'gateway'] as const) {
    const r = results[side];
    if (r && r.errors > 0) {
      out.push(
        '',
        `${side} errors: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors (${r.timeouts} timeouts); status codes ${JSON.stringify(r.statusCodes)}`,
      );
    }
  }
  const replays = results.gateway?.statusCodes['200'] ?? 0;
  if (replays > 0) out.push('', `warning: ${replays} gateway answers were idempotent replays (200), not new orders`);
  const busiest = Math.max(...(['baseline', 'gateway'] as const).map((s) => results[s]?.cpu.otherPct ?? 0));
  if (busiest > OTHER_CPU_WARN_PCT) {
    out.push(
      '',
      `warning: other processes used up to ${busiest.toFixed(0)}% of a core during a run; figures are skewed`,
    );
  }
  if (results.baseline && results.baseline.errors > 0) {
    out.push('', 'warning: the baseline had errors, so the ratio is not a fair comparison');
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** A live gateway on a fresh database of its own, stopped whatever `fn` does. */
async function withLiveGateway<T>(
  phase: LivePhase,
  cfg: BenchConfig,
  adminKey: string,
  fn: (server: ChildServer, databaseUrl: string) => Promise<T>,
): Promise<T> {
  const databaseUrl = await recreateDatabase(cfg.pgAdminUrl, LIVE_DATABASE_NAMES[phase]);
  if (!(await checkpoint(cfg.pgAdminUrl))) log('CHECKPOINT not permitted for the admin role; runs may interfere');
  const port = await freePort();
  log(`${phase}: starting the gateway (DRY_RUN=false, simulated broker) on 127.0.0.1:${port}`);
  const server = await startServer(liveSpec(phase, cfg, databaseUrl, adminKey, port));
  try {
    return await fn(server, databaseUrl);
  } finally {
    await server.stop();
  }
}

function measureLive(cfg: BenchConfig, adminKey: string, signal: AbortSignal): Promise<LiveResult> {
  return withLiveGateway('live', cfg, adminKey, (server, databaseUrl) =>
    runLivePhase({
      server,
      databaseUrl,
      adminKey,
      connections: cfg.connections,
      durationS: cfg.durationS,
      warmupS: cfg.warmupS,
      settleS: LIVE_SETTLE_S,
      drainS: LIVE_DRAIN_S,
      signal,
      log,
    }),
  );
}

/** The latency phase, or why it could not run (the gateway has no event stream). */
async function measureLatency(
  cfg: BenchConfig,
  adminKey: string,
  signal: AbortSignal,
): Promise<LatencyResult | { skipped: string }> {
  try {
    return await withLiveGateway('latency', cfg, adminKey, (server, databaseUrl) =>
      runLatencyPhase({
        server,
        databaseUrl,
        adminKey,
        orders: cfg.latencyOrders,
        concurrency: cfg.latencyConcurrency,
        warmupOrders: Math.min(20, cfg.latencyOrders),
        eventTimeoutMs: LATENCY_EVENT_TIMEOUT_MS,
        maxS: LATENCY_MAX_S,
        jitterMs: LATENCY_JITTER_MS,
        signal,
        log,
      }),
    );
  } catch (err) {
    if (err instanceof MissingEndpointError) return { skipped: err.message };
    throw err;
  }
}

function checkLatency(latency: LatencyResult | { skipped: string } | undefined): TargetCheck | undefined {
  if (!latency) return undefined;
  if ('skipped' in latency) {
    return { name: `fill -> SSE event p99 <= ${MAX_FILL_TO_EVENT_P99_MS} ms`, value: 'n/a', pass: null };
  }
  const measured = latency.fillToEventMs ?? latency.postToEventMs;
  const bound = latency.fillToEventMs ? '' : ' (upper bound: POST sent -> event)';
  const missing = latency.missingEvents > 0 || latency.accepted === 0;
  return {
    name: `fill -> SSE event p99 <= ${MAX_FILL_TO_EVENT_P99_MS} ms${bound}`,
    value: measured ? `${measured.p99.toFixed(1)} ms` : 'n/a',
    // An order whose event never came is a miss however fast the others were.
    pass: measured === null ? false : measured.p99 <= MAX_FILL_TO_EVENT_P99_MS && !missing,
  };
}

function printLiveReport(cfg: BenchConfig, r: LiveResult): void {
  const pct = (n: number) => (r.ordersCreated > 0 ? `${((100 * n) / r.ordersCreated).toFixed(1)}%` : 'n/a');
  const created = (r.statusCodes['201'] ?? 0) + (r.statusCodes['202'] ?? 0);
  const out = [
    '',
    `gateway live (sim): DRY_RUN=false, POST ${ORDERS_PATH}, distinct market orders of 1 share (buys and sells alternating), ${cfg.connections} connections, ${cfg.durationS} s (after ${cfg.warmupS} s warm-up)`,
    '',
    `${''.padEnd(10)}  ${'req/s'.padStart(9)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}  ${'max ms'.padStart(7)}  ${'errors'.padStart(8)}  ${'requests'.padStart(9)}`,
    `${'live'.padEnd(10)}  ${r.rps.toFixed(1).padStart(9)}  ${String(r.latencyMs.p50).padStart(7)}  ${String(r.latencyMs.p99).padStart(7)}  ${String(r.latencyMs.max).padStart(7)}  ${String(r.errors).padStart(8)}  ${String(r.requests).padStart(9)}`,
    '',
    `  status codes: ${JSON.stringify(r.statusCodes)} (201 created and sent; 202 accepted, broker outcome pending)`,
    `  socket errors: ${r.socketErrors} (${r.timeouts} timeouts)`,
    `  orders created by the measured run: ${r.ordersCreated} (${created} answered 201/202)`,
    `  filled when the load ended:         ${r.filledAtEnd} (${pct(r.filledAtEnd)})`,
    `  filled within ${r.settleS} s after it:        ${r.filledSettled} (${pct(r.filledSettled)}); ${
      r.ordersCreated - r.filledSettled === 0
        ? `all filled after ${r.settledAfterS.toFixed(2)} s`
        : `not filled: ${JSON.stringify(Object.fromEntries(Object.entries(r.ordersSettled).filter(([k]) => k !== 'filled')))}`
    }`,
    `  no order in flight any more:      ${
      r.drainedAfterS === null
        ? `not within ${r.settleS + r.drainS} s (${r.filledDrained} filled by then)`
        : `${r.drainedAfterS.toFixed(1)} s after the load (${r.filledDrained} filled)`
    }`,
    '  throughput target: none for this phase',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

function printLatencyReport(r: LatencyResult | { skipped: string }, check: TargetCheck): void {
  const out = ['', `fill-to-event latency: one SSE stream on GET /api/v1/events, market buys of 1 share, live gateway`];
  if ('skipped' in r) {
    out.push(`  skipped: ${r.skipped}`);
  } else {
    const row = (name: string, p: Percentiles | null) =>
      p === null
        ? `  ${name.padEnd(34)}  n/a`
        : `  ${name.padEnd(34)}  ${p.p50.toFixed(1).padStart(7)}  ${p.p90.toFixed(1).padStart(7)}  ${p.p99.toFixed(1).padStart(7)}  ${p.max.toFixed(1).padStart(7)}  ${String(p.count).padStart(6)}`;
    out.push(
      `  ${r.orders} orders (after warm-up) at concurrency ${r.concurrency} in ${r.elapsedS.toFixed(1)} s; status codes ${JSON.stringify(r.statusCodes)}; fill events missing after ${LATENCY_EVENT_TIMEOUT_MS / 1000} s: ${r.missingEvents}`,
      '',
      `  ${'ms'.padEnd(34)}  ${'p50'.padStart(7)}  ${'p90'.padStart(7)}  ${'p99'.padStart(7)}  ${'max'.padStart(7)}  ${'count'.padStart(6)}`,
      row('(b) fill executed_at -> SSE event', r.fillToEventMs),
      row('(a) POST sent -> SSE event', r.postToEventMs),
      row('    event created_at -> SSE event', r.eventWrittenToReceivedMs),
      row('    POST sent -> POST response', r.postResponseMs),
    );
    if (r.streamEnded) out.push(`  warning: the event stream ended early: ${r.streamEnded}`);
  }
  out.push(
    '',
    'target',
    `  ${check.name.padEnd(34)} ${check.value.padStart(9)}  ${check.pass === null ? 'SKIP' : check.pass ? 'PASS' : 'FAIL'}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

async function main(): Promise<number> {
  const cfg = readConfig(process.env);
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) {
      killAllChildren();
      process.exit(130);
    }
    log('interrupted: stopping the load and the servers (again to kill at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllChildren);

  // Every step is bounded on its own; this is the backstop should one of them hang anyway.
  const perSide = READY_TIMEOUT_MS / 1000 + cfg.warmupS + cfg.durationS + 40;
  const perLatency = READY_TIMEOUT_MS / 1000 + LATENCY_MAX_S + LATENCY_EVENT_TIMEOUT_MS / 1000 + 40;
  const budgetS =
    30 +
    3 * perSide +
    LIVE_SETTLE_S +
    LIVE_DRAIN_S +
    perLatency +
    // pipeline: every run starts a gateway and waits for its reconciliation gate; propagation: two gateways and the rounds.
    2 * cfg.pipelineRounds * (perSide + 30) +
    (2 * READY_TIMEOUT_MS) / 1000 +
    60 +
    cfg.propagationRounds * 12;
  setTimeout(() => {
    log(`gave up after ${budgetS} s: something hung; killing the servers`);
    killAllChildren();
    process.exit(3);
  }, budgetS * 1000).unref();

  log(`node ${process.version}, ${cpus().length} CPUs; database ${DATABASE_NAME}, Redis prefix ${REDIS_KEY_PREFIX}`);
  const runs = (phase: Phase) => !cfg.only || cfg.only === phase;
  const adminKey = randomBytes(16).toString('hex');
  const results: Partial<Record<Side, SideResult>> = {};
  if (runs('baseline') || runs('gateway')) {
    const databaseUrl = await recreateDatabase(cfg.pgAdminUrl, DATABASE_NAME);
    for (const side of ['baseline', 'gateway'] as const) {
      if (!runs(side)) continue;
      if (abort.signal.aborted) break;
      if (!(await checkpoint(cfg.pgAdminUrl))) log('CHECKPOINT not permitted for the admin role; runs may interfere');
      results[side] = await measure(side, cfg, databaseUrl, adminKey, abort.signal);
    }
  }
  let live: LiveResult | undefined;
  if (runs('live') && !abort.signal.aborted) live = await measureLive(cfg, adminKey, abort.signal);
  let latency: LatencyResult | { skipped: string } | undefined;
  if (runs('latency') && !abort.signal.aborted) latency = await measureLatency(cfg, adminKey, abort.signal);
  let pipeline: PipelineResult | undefined;
  if (runs('pipeline') && !abort.signal.aborted) pipeline = await measurePipeline(cfg, adminKey, abort.signal);
  let propagation: PropagationResult | undefined;
  if (runs('propagation') && !abort.signal.aborted) {
    propagation = await measurePropagation(cfg, adminKey, abort.signal);
  }
  // One reconciliation run with BENCH_RECON_ORDERS open orders (no target; see bench/reconciliation.ts).
  let reconciliation: ReconciliationBenchResult | undefined;
  if (runs('reconciliation') && !abort.signal.aborted) {
    reconciliation = await runReconciliationPhase({
      pgAdminUrl: cfg.pgAdminUrl,
      redisUrl: cfg.redisUrl,
      orders: Number(process.env.BENCH_RECON_ORDERS?.trim() || 1000),
      brokerLatencyMs: Number(process.env.BENCH_RECON_BROKER_LATENCY_MS?.trim() || 25),
      steadyRuns: 3,
      log,
    });
    process.stdout.write(`${formatReconciliationReport(reconciliation)}\n`);
  }

  const { ratio, checks } = checkTargets(results.baseline, results.gateway);
  if (results.baseline || results.gateway) printReport(cfg, results, ratio, checks);
  if (live) printLiveReport(cfg, live);
  const latencyCheck = checkLatency(latency);
  if (latency && latencyCheck) printLatencyReport(latency, latencyCheck);
  const pipelineChecks = checkPipeline(pipeline);
  if (pipeline) {
    process.stdout.write(`${formatPipelineReport(pipeline, cfg, OTHER_CPU_WARN_PCT).join('\n')}\n`);
    printTargets('target', pipelineChecks);
  }
  const propagationChecks = checkPropagation(propagation);
  if (propagation) {
    process.stdout.write(`${formatPropagationReport(propagation).join('\n')}\n`);
    printTargets('targets', propagationChecks);
  }
  const allChecks = [
    ...(results.baseline || results.gateway ? checks : []),
    ...(latencyCheck ? [latencyCheck] : []),
    ...pipelineChecks,
    ...propagationChecks,
  ];

  // An interrupted run is partial: keep the last complete one on disk.
  if (abort.signal.aborted) return 130;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, 'latest.json');
  const report = {
    finishedAt: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    config: { durationS: cfg.durationS, warmupS: cfg.warmupS, connections: cfg.connections, only: cfg.only ?? null },
    gatewayEntry: relative(ROOT, gatewayEntry()),
    gatewayOverrides: gatewayOverrides(),
    baseline: results.baseline ?? null,
    gateway: results.gateway ?? null,
    ratio,
    // The DRY_RUN gateway against the baseline, as before the live phases existed.
    targets: checks,
    liveSim: live ?? null,
    fillToEventLatency: latency ?? null,
    fillToEventTarget: latencyCheck ?? null,
    pipeline: pipeline ?? null,
    pipelineTargets: pipelineChecks,
    propagation: propagation ?? null,
    propagationTargets: propagationChecks,
    pass: allChecks.every((c) => c.pass !== false),
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${relative(process.cwd(), file)}\n`);
  if (cfg.cpuProfile)
    process.stdout.write(`CPU profiles in ${relative(process.cwd(), join(RESULTS_DIR, 'profiles'))}\n`);

  // Figures from a gateway that mostly failed are not a measurement; say so in the exit code.
  for (const gw of [results.gateway, live, ...(pipeline?.runs ?? [])]) {
    if (gw && (gw.requests === 0 || gw.errors * 2 > gw.requests)) return 1;
  }
  return cfg.strict && !report.pass ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    killAllChildren();
    process.exit(2);
  },
);
