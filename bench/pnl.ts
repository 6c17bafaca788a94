/**
 * The `pnl` and `performance` phases: the read side of strategies and P&L
 * (docs/strategies-and-pnl.md) on a DRY_RUN gateway whose database is seeded
 * directly (orders, fills, positions written in SQL, as the fill path would).
 *
 * - pnl: 500 open positions (two strategies' fills each, so the books net),
 *   GET /api/v1/positions/pnl/realtime at BENCH_PNL_CONNECTIONS (16);
 *   target p99 ≤ 50 ms.
 * - performance: 100,000 fills over 90 days, 20 strategies, 50 symbols;
 *   GET /api/v1/performance/daily over the 90 days, uncached
 *   (PERFORMANCE_CACHE_TTL=0), one request at a time; target p99 ≤ 200 ms.
 */
import { freePort, startServer } from './child';
import { BenchConfig, log, printTargets, REDIS_KEY_PREFIX, TargetCheck } from './config';
import { checkpoint, recreateDatabase } from './database';
import { profileArgs, serverSpec } from './gateway-spec';
import { withDb } from './live';
import { LoadSummary, runLoad } from './load';

const PNL_POSITIONS = 500;
const PNL_P99_TARGET_MS = 50;
const PERF_FILLS = 100_000;
const PERF_DAYS = 90;
const PERF_STRATEGIES = 20;
const PERF_P99_TARGET_MS = 200;

export interface ReadPhaseResult {
  phase: 'pnl' | 'performance';
  seeded: string;
  connections: number;
  /** The first request after boot, in ms: it replays every fill into the strategies' books. */
  firstRequestMs: number;
  load: LoadSummary;
}

// Symbol i: strategy i%20 buys 10 @ p, strategy (i+1)%20 buys 5 @ p+3: the account holds 15 @ p+1.
const PNL_SEED = [
  `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status,
                       filled_qty, filled_avg_price, created_at)
   SELECT 'pnl-' || i || '-' || k, 'strat_' || ((i + k) % 20), 'P' || lpad(i::text, 3, '0'), 'buy',
          CASE k WHEN 0 THEN 10 ELSE 5 END, 'market', 'day', 'filled', CASE k WHEN 0 THEN 10 ELSE 5 END,
          100 + (i % 50) + 3 * k, now() - interval '1 hour' + (2 * i + k) * interval '1 second'
     FROM generate_series(0, ${PNL_POSITIONS - 1}) i, generate_series(0, 1) k`,
  `INSERT INTO fills (execution_id, client_order_id, strategy_id, symbol, side, qty, price, cum_qty, source, executed_at)
   SELECT 'exec-' || client_order_id, client_order_id, strategy_id, symbol, side, qty, filled_avg_price, qty, 'bench',
          created_at FROM orders`,
  `INSERT INTO positions (symbol, qty, avg_entry_price, realized_pl, last_trade_at)
   SELECT 'P' || lpad(i::text, 3, '0'), 15, 101 + (i % 50), 0, now() FROM generate_series(0, ${PNL_POSITIONS - 1}) i`,
];

// Fill i of 100,000, spread evenly over the 90 days ending today; sides alternate in blocks so books go up and down.
const PERF_SEED = [
  `INSERT INTO orders (client_order_id, strategy_id, symbol, side, qty, order_type, time_in_force, status,
                       filled_qty, filled_avg_price, created_at)
   SELECT 'perf-' || i, 'strat_' || (i % ${PERF_STRATEGIES}), 'S' || (i % 50),
          CASE WHEN (i / 1000) % 2 = 0 THEN 'buy' ELSE 'sell' END, 1 + i % 7, 'market', 'day', 'filled', 1 + i % 7,
          100 + (i % 13) * 0.37,
          date_trunc('day', now()) - interval '${PERF_DAYS - 1} days' + i * interval '${Math.floor((PERF_DAYS * 86_400_000 - 3_600_000) / PERF_FILLS)} milliseconds'
     FROM generate_series(0, ${PERF_FILLS - 1}) i`,
  `INSERT INTO fills (execution_id, client_order_id, strategy_id, symbol, side, qty, price, cum_qty, source, executed_at)
   SELECT 'exec-' || client_order_id, client_order_id, strategy_id, symbol, side, qty, filled_avg_price, qty, 'bench',
          created_at FROM orders ORDER BY created_at`,
  `INSERT INTO audit_log (occurred_at, action, actor, client_order_id, strategy_id, symbol, reason_code)
   SELECT created_at, 'order.rejected', 'system', client_order_id, strategy_id, symbol, 'BENCH'
     FROM orders WHERE seq % 50 = 0`,
  `ANALYZE`,
];

export async function measureReadPhase(
  phase: 'pnl' | 'performance',
  cfg: BenchConfig,
  adminKey: string,
  signal: AbortSignal,
): Promise<ReadPhaseResult> {
  const name = `eg_bench_${phase}`;
  const databaseUrl = await recreateDatabase(cfg.pgAdminUrl, name);
  await checkpoint(cfg.pgAdminUrl);
  const port = await freePort();
  const spec = serverSpec('gateway', cfg, databaseUrl, adminKey, port);
  log(`${phase}: starting the DRY_RUN gateway on 127.0.0.1:${port}`);
  const server = await startServer({
    ...spec,
    name: `gateway ${phase}`,
    nodeArgs: profileArgs(cfg, phase),
    env: {
      ...spec.env,
      REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}${phase}:`,
      PERFORMANCE_CACHE_TTL: '0',
      RECONCILIATION_INTERVAL_SECONDS: '3600',
    },
  });
  try {
    const started = Date.now();
    await withDb(databaseUrl, async (db) => {
      for (const sql of phase === 'pnl' ? PNL_SEED : PERF_SEED) await db.query(sql);
    });
    const seeded =
      phase === 'pnl'
        ? `${PNL_POSITIONS} open positions, ${2 * PNL_POSITIONS} fills of 20 strategies`
        : `${PERF_FILLS} fills over ${PERF_DAYS} days, ${PERF_STRATEGIES} strategies, 50 symbols`;
    log(`${phase}: seeded ${seeded} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const today = new Date().toISOString().slice(0, 10);
    const start = new Date(Date.parse(`${today}T00:00:00Z`) - (PERF_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
    const path =
      phase === 'pnl' ? '/api/v1/positions/pnl/realtime' : `/api/v1/performance/daily?start=${start}&end=${today}`;
    const headers = { authorization: `Bearer ${adminKey}` };
    const probeStart = performance.now();
    const probe = await fetch(`${server.baseUrl}${path}`, { headers });
    const body = (await probe.json()) as { positions?: unknown[]; days?: unknown[] };
    const firstRequestMs = Math.round(performance.now() - probeStart);
    if (probe.status !== 200) throw new Error(`${phase}: ${path} answered ${probe.status}: ${JSON.stringify(body)}`);
    log(`${phase}: probe answered ${phase === 'pnl' ? body.positions?.length : body.days?.length} rows`);
    const connections = phase === 'pnl' ? Number(process.env.BENCH_PNL_CONNECTIONS ?? 16) : 1;
    const load = { baseUrl: server.baseUrl, path, headers, method: 'GET' as const, connections, signal };
    if (cfg.warmupS > 0) await runLoad({ ...load, durationS: cfg.warmupS });
    log(`${phase}: measuring for ${cfg.durationS} s at ${connections} connection(s)`);
    const measured = await runLoad({ ...load, durationS: cfg.durationS });
    return { phase, seeded, connections, firstRequestMs, load: measured };
  } finally {
    await server.stop();
  }
}

export function checkReadPhase(r: ReadPhaseResult | undefined): TargetCheck[] {
  if (!r) return [];
  const target = r.phase === 'pnl' ? PNL_P99_TARGET_MS : PERF_P99_TARGET_MS;
  const ok = r.load.errors === 0 && r.load.latencyMs.p99 <= target;
  return [{ name: `${r.phase} p99 <= ${target} ms, 0 errors`, value: `${r.load.latencyMs.p99} ms`, pass: ok }];
}

export function printReadPhaseReport(r: ReadPhaseResult, checks: TargetCheck[]): void {
  const l = r.load;
  const what = r.phase === 'pnl' ? 'GET /positions/pnl/realtime' : 'GET /performance/daily over 90 days, uncached';
  const out = [
    '',
    `${r.phase}: ${what}; seeded ${r.seeded}; ${r.connections} connection(s), ${l.durationS} s`,
    `  first request after boot (replays every fill): ${r.firstRequestMs} ms`,
    `  req/s ${l.rps}  p50 ${l.latencyMs.p50} ms  p99 ${l.latencyMs.p99} ms  max ${l.latencyMs.max} ms  requests ${l.requests}  errors ${l.errors}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  printTargets(`${r.phase} target`, checks);
}
