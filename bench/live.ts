/**
 * The `live` phase: the gateway with DRY_RUN=false against its in-process
 * simulated broker, so every order is written, submitted, acknowledged and
 * filled. POST /api/v1/orders under load; then how many of the measured run's
 * orders reached `filled`, at the end of the load and within a grace period.
 * The live gateway (`withLiveGateway`) serves the latency phase too.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { ChildServer, freePort, ServerSpec, startServer } from './child';
import { BenchConfig, LivePhase, log, ORDERS_PATH, printTargets, REDIS_KEY_PREFIX, TargetCheck } from './config';
import { cpuBetween, CpuUsage, snapshotCpu } from './cpu';
import { checkpoint, recreateDatabase } from './database';
import { profileArgs, serverSpec } from './gateway-spec';
import { LoadSummary, round, runLoad } from './load';

/** The live phases' own databases, fresh for each phase. */
const LIVE_DATABASE_NAMES = {
  live: 'eg_bench_live',
  latency: 'eg_bench_latency',
  burst: 'eg_bench_burst',
  fills: 'eg_bench_fills',
} as const;
/** How long after the live load its orders may still take to fill. */
export const LIVE_SETTLE_S = 5;
/** ...and how much longer the rest are watched, to report when the backlog clears. */
export const LIVE_DRAIN_S = 55;
/**
 * The live path's targets (docs/broker-pacing.md): accept throughput at least 0.6 of the DRY_RUN gateway's in the
 * same run, and accept p99 at most 50 ms at 32 connections.
 */
export const LIVE_TARGETS = { minRatioToDryRun: 0.6, maxP99Ms: 50, connections: 32 };
/** Statuses an order leaves on its own once the broker answers. */
const IN_FLIGHT = ['pending_new', 'submitted', 'submitted_unconfirmed', 'accepted', 'new', 'partially_filled'];

export interface LivePhaseOptions {
  server: ChildServer;
  databaseUrl: string;
  adminKey: string;
  connections: number;
  durationS: number;
  warmupS: number;
  /** How long after the load the orders still in flight may take to fill. */
  settleS: number;
  /** After the settle period, how much longer to watch the rest fill (reported, not judged). */
  drainS: number;
  signal: AbortSignal;
  log: (message: string) => void;
}

export interface LiveResult extends LoadSummary {
  /** Orders the measured run created (its 201s and 202s), by status, at the end of the load. */
  ordersAtEnd: Record<string, number>;
  /** The same orders by status after the settle period (or once none was in flight). */
  ordersSettled: Record<string, number>;
  ordersCreated: number;
  filledAtEnd: number;
  filledSettled: number;
  /** Seconds after the load until no order was in flight, or the settle period when some still were. */
  settledAfterS: number;
  settleS: number;
  /** Seconds after the load until no order was in flight; null when some still were after drainS. */
  drainedAfterS: number | null;
  /** Filled orders at the end of the watch (settle period plus drainS at most). */
  filledDrained: number;
  drainS: number;
  /** CPU of the gateway, PostgreSQL, Redis and the load generator during the measured load. */
  cpu: CpuUsage;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with other processes' clocks on this machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export async function withDb<T>(databaseUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function statusCounts(c: Client, since: string): Promise<Record<string, number>> {
  const { rows } = await c.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM orders WHERE created_at >= $1 GROUP BY status ORDER BY status',
    [since],
  );
  const out: Record<string, number> = {};
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}

const sum = (counts: Record<string, number>, statuses?: string[]) =>
  Object.entries(counts).reduce((s, [k, v]) => (statuses === undefined || statuses.includes(k) ? s + v : s), 0);

/**
 * Distinct market orders of one share. Buys and sells alternate so the
 * simulated account's position stays near zero: its buying power (100 000 at
 * a reference price of 100) would otherwise refuse buys after about a thousand.
 */
function liveBodies(runId: string): () => string {
  let n = 0;
  return () => {
    n += 1;
    return JSON.stringify({ symbol: 'AAPL', side: n % 2 ? 'buy' : 'sell', qty: 1, idempotency_key: `l-${runId}-${n}` });
  };
}

export async function runLivePhase(o: LivePhaseOptions): Promise<LiveResult> {
  const runId = randomBytes(3).toString('hex');
  const load = {
    baseUrl: o.server.baseUrl,
    path: ORDERS_PATH,
    headers: { authorization: `Bearer ${o.adminKey}` },
    nextBody: liveBodies(runId),
    connections: o.connections,
    signal: o.signal,
  };
  if (o.warmupS > 0) {
    o.log(`live: warming up for ${o.warmupS} s`);
    await runLoad({ ...load, durationS: o.warmupS });
    if (o.signal.aborted) throw new Error('interrupted');
  }
  return withDb(o.databaseUrl, async (db) => {
    // The database's clock stamps created_at, so the measured run's orders are those created after this.
    const { rows } = await db.query<{ now: string }>('SELECT now()::text AS now');
    const since = rows[0].now;
    o.log(`live: measuring for ${o.durationS} s at ${o.connections} connections`);
    const cpuBefore = snapshotCpu(o.server.pid);
    const result = await runLoad({ ...load, durationS: o.durationS });
    const cpu = cpuBetween(cpuBefore, snapshotCpu(o.server.pid), result.requests);
    const endedAt = Date.now();
    const ordersAtEnd = await statusCounts(db, since);
    let ordersSettled = ordersAtEnd;
    while (sum(ordersSettled, IN_FLIGHT) > 0 && Date.now() - endedAt < o.settleS * 1000 && !o.signal.aborted) {
      await sleep(100);
      ordersSettled = await statusCounts(db, since);
    }
    const settledAfterS = round((Date.now() - endedAt) / 1000, 2);
    let drained = ordersSettled;
    const drainUntil = endedAt + (o.settleS + o.drainS) * 1000;
    if (sum(drained, IN_FLIGHT) > 0) o.log(`live: watching the orders still in flight for up to ${o.drainS} s more`);
    while (sum(drained, IN_FLIGHT) > 0 && Date.now() < drainUntil && !o.signal.aborted) {
      await sleep(250);
      drained = await statusCounts(db, since);
    }
    const drainedAfterS = sum(drained, IN_FLIGHT) === 0 ? round((Date.now() - endedAt) / 1000, 2) : null;
    const exited = o.server.exitStatus();
    if (exited) throw new Error(`live gateway ${exited} during the run; its last output:\n${o.server.outputTail()}`);
    if (result.errors > 0) o.log(`live: last output:\n${o.server.outputTail() || '(none)'}`);
    return {
      ...result,
      ordersAtEnd,
      ordersSettled,
      ordersCreated: sum(ordersSettled),
      filledAtEnd: ordersAtEnd.filled ?? 0,
      filledSettled: ordersSettled.filled ?? 0,
      settledAfterS: Math.min(settledAfterS, o.settleS),
      settleS: o.settleS,
      drainedAfterS,
      filledDrained: drained.filled ?? 0,
      drainS: o.drainS,
      cpu,
    };
  });
}

/**
 * The gateway trading for real against its in-process simulated broker: the
 * DRY_RUN gateway's environment with DRY_RUN=false, BROKER=sim (never a real
 * broker, whatever BENCH_GATEWAY_* says) and Redis keys of its own.
 */
function liveSpec(
  phase: LivePhase,
  cfg: BenchConfig,
  databaseUrl: string,
  adminKey: string,
  port: number,
  env: Record<string, string>,
): ServerSpec {
  const spec = serverSpec('gateway', cfg, databaseUrl, adminKey, port);
  return {
    ...spec,
    name: `gateway ${phase}`,
    nodeArgs: profileArgs(cfg, phase),
    // Still prices (every fill at 100) unless BENCH_GATEWAY_SIM_PRICE_VOLATILITY_BPS says otherwise.
    env: {
      SIM_PRICE_VOLATILITY_BPS: '0',
      ...spec.env,
      REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}${phase}:`,
      ...env,
      DRY_RUN: 'false',
      BROKER: 'sim',
    },
  };
}

/** A live gateway on a fresh database of its own, stopped whatever `fn` does. */
export async function withLiveGateway<T>(
  phase: LivePhase,
  cfg: BenchConfig,
  adminKey: string,
  fn: (server: ChildServer, databaseUrl: string) => Promise<T>,
  /** The phase's own settings (e.g. the broker budget), after BENCH_GATEWAY_* overrides. */
  env: Record<string, string> = {},
): Promise<T> {
  const databaseUrl = await recreateDatabase(cfg.pgAdminUrl, LIVE_DATABASE_NAMES[phase]);
  if (!(await checkpoint(cfg.pgAdminUrl))) log('CHECKPOINT not permitted for the admin role; runs may interfere');
  const port = await freePort();
  log(`${phase}: starting the gateway (DRY_RUN=false, simulated broker) on 127.0.0.1:${port}`);
  const server = await startServer(liveSpec(phase, cfg, databaseUrl, adminKey, port, env));
  try {
    return await fn(server, databaseUrl);
  } finally {
    await server.stop();
  }
}

export function measureLive(cfg: BenchConfig, adminKey: string, signal: AbortSignal): Promise<LiveResult> {
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

/**
 * The live phase against its targets. The ratio needs the DRY_RUN gateway phase of the same run (SKIP without it);
 * the p99 is judged at 32 connections only (SKIP at another BENCH_CONNECTIONS).
 */
export function checkLive(r: LiveResult | undefined, dryRun: LoadSummary | undefined): TargetCheck[] {
  if (!r) return [];
  const t = LIVE_TARGETS;
  const ratio = dryRun && dryRun.rps > 0 ? round(r.rps / dryRun.rps, 3) : null;
  return [
    {
      name: `live/DRY_RUN req/s >= ${t.minRatioToDryRun}`,
      value: ratio === null ? 'n/a' : ratio.toFixed(3),
      pass: ratio === null ? null : ratio >= t.minRatioToDryRun,
    },
    {
      name: `live p99 <= ${t.maxP99Ms} ms at ${t.connections} conns`,
      value: `${r.latencyMs.p99} ms`,
      pass: r.connections === t.connections ? r.latencyMs.p99 <= t.maxP99Ms : null,
    },
  ];
}

const fmtCpu = (v: number | null) => (v === null ? '-' : v.toFixed(0));

export function printLiveReport(cfg: BenchConfig, r: LiveResult, checks: TargetCheck[], dryRun?: LoadSummary): void {
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
    `  CPU during the load (% of one core): gateway ${fmtCpu(r.cpu.serverPct)}, postgres ${fmtCpu(r.cpu.postgresPct)}, redis ${fmtCpu(r.cpu.redisPct)}, load gen ${fmtCpu(r.cpu.loadGeneratorPct)}, other ${fmtCpu(r.cpu.otherPct)}; per request: gateway ${fmtCpu(r.cpu.serverUsPerRequest)} us, postgres ${fmtCpu(r.cpu.postgresUsPerRequest)} us`,
    `  DRY_RUN gateway of this run: ${dryRun ? `${dryRun.rps.toFixed(1)} req/s, p99 ${dryRun.latencyMs.p99} ms` : 'not run (ratio skipped)'}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  printTargets('targets (live)', checks);
}
