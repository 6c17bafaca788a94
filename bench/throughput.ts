/**
 * The `baseline` and `gateway` phases: POST /api/v1/orders under the same
 * load on a bare node:http + pg + ioredis server and on the DRY_RUN gateway,
 * one after the other on one database, and the gateway's throughput as a
 * fraction of the baseline's.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { freePort, startServer } from './child';
import { BenchConfig, log, ORDERS_PATH, OTHER_CPU_WARN_PCT, Phase, Side, TargetCheck } from './config';
import { cpuBetween, CpuUsage, snapshotCpu } from './cpu';
import { checkpoint, recreateDatabase } from './database';
import { serverSpec } from './gateway-spec';
import { LoadSummary, round, runLoad } from './load';

export const DATABASE_NAME = 'eg_bench';
/** This milestone's targets. */
export const TARGETS = { minRatio: 0.25, maxGatewayP99Ms: 50, maxGatewayErrors: 0 };

export interface SideResult extends LoadSummary {
  cpu: CpuUsage;
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

export function checkTargets(
  baseline?: SideResult,
  gateway?: SideResult,
): { ratio: number | null; checks: TargetCheck[] } {
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

export function printReport(
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

/** Both sides on one fresh database, each after a CHECKPOINT, skipping those not selected. */
export async function runThroughputPhases(
  cfg: BenchConfig,
  adminKey: string,
  runs: (phase: Phase) => boolean,
  signal: AbortSignal,
): Promise<Partial<Record<Side, SideResult>>> {
  const results: Partial<Record<Side, SideResult>> = {};
  const databaseUrl = await recreateDatabase(cfg.pgAdminUrl, DATABASE_NAME);
  for (const side of ['baseline', 'gateway'] as const) {
    if (!runs(side)) continue;
    if (signal.aborted) break;
    if (!(await checkpoint(cfg.pgAdminUrl))) log('CHECKPOINT not permitted for the admin role; runs may interfere');
    results[side] = await measure(side, cfg, databaseUrl, adminKey, signal);
  }
  return results;
}
