/**
 * The `twap` phase: BENCH_TWAP_PLANS active TWAP plans (default 1,000) on one
 * live gateway (DRY_RUN=false, simulated broker), slices every
 * BENCH_TWAP_INTERVAL_S (default 10 s) for BENCH_TWAP_MINUTES (default 2).
 * Reports the slice lag (sent − scheduled) from the slices table, what became
 * of every slice, and the server's CPU and RSS over the window; target: slice
 * lag p99 ≤ 1 s with no slice expired or still unsent when the window ends.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChildServer, freePort, startServer } from './child';
import { BenchConfig, log, printTargets, REDIS_KEY_PREFIX, TargetCheck } from './config';
import { cpuBetween, CpuUsage, snapshotCpu } from './cpu';
import { checkpoint, recreateDatabase } from './database';
import { profileArgs, serverSpec } from './gateway-spec';
import { withDb } from './live';

const DATABASE_NAME = 'eg_bench_twap';
const SLICE_PATH = '/api/v1/orders/slice';
/** Plans are spread over symbols and strategies, as a book of many orders would be (each order locks its pair). */
const SYMBOLS = 50;
const STRATEGIES = 50;
const CREATE_CONCURRENCY = 16;
const LAG_TARGET_S = 1;
/** Periodic reconciliation runs during the window, as in production (positions compared at a quiet cut). */
const RECONCILIATION_INTERVAL_S = 15;

export interface TwapBenchConfig {
  plans: number;
  minutes: number;
  intervalS: number;
}

export function readTwapConfig(env: NodeJS.ProcessEnv): TwapBenchConfig {
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  return {
    plans: int('BENCH_TWAP_PLANS', 1000, 1, 100_000),
    minutes: int('BENCH_TWAP_MINUTES', 2, 1, 60),
    intervalS: int('BENCH_TWAP_INTERVAL_S', 10, 1, 60),
  };
}

export interface TwapResult {
  plans: number;
  plansCreated: number;
  createSeconds: number;
  windowSeconds: number;
  slices: Record<string, number>;
  childStatuses: Record<string, number>;
  planStatuses: Record<string, number>;
  lagS: { p50: number; p90: number; p99: number; max: number; count: number };
  cpu: CpuUsage;
  rssMb: { start: number | null; max: number | null; end: number | null };
  /** Reconciliation runs during the window, the findings they recorded and the slices refused for a quarantine. */
  reconciliation: { runs: number | null; findings: Record<string, number>; quarantinedSlices: number };
}

function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Math.round(Number(line.replace(/\D+/g, '')) / 1024) : null;
  } catch {
    return null;
  }
}

async function createPlans(server: ChildServer, adminKey: string, t: TwapBenchConfig): Promise<number> {
  const runId = randomBytes(3).toString('hex');
  let next = 0;
  let created = 0;
  const slices = Math.ceil((t.minutes * 60) / t.intervalS);
  const worker = async (): Promise<void> => {
    while (next < t.plans) {
      const i = next++;
      const res = await fetch(`${server.baseUrl}${SLICE_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          symbol: `TW${i % SYMBOLS}`,
          // Buys and sells alternate per symbol, so the simulated account's buying power is never spent.
          side: Math.floor(i / SYMBOLS) % 2 ? 'sell' : 'buy',
          qty: slices,
          duration_minutes: t.minutes,
          interval_seconds: t.intervalS,
          strategy_id: `bench_${i % STRATEGIES}`,
          idempotency_key: `twap-${runId}-${i}`,
        }),
      });
      if (res.status === 201) created += 1;
      else log(`twap: plan ${i} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: CREATE_CONCURRENCY }, worker));
  return created;
}

export async function measureTwap(cfg: BenchConfig, adminKey: string, signal: AbortSignal): Promise<TwapResult> {
  const t = readTwapConfig(process.env);
  const databaseUrl = await recreateDatabase(cfg.pgAdminUrl, DATABASE_NAME);
  if (!(await checkpoint(cfg.pgAdminUrl))) log('CHECKPOINT not permitted for the admin role; runs may interfere');
  const port = await freePort();
  const spec = serverSpec('gateway', cfg, databaseUrl, adminKey, port);
  log(`twap: starting the gateway (DRY_RUN=false, simulated broker) on 127.0.0.1:${port}`);
  const server = await startServer({
    ...spec,
    name: 'gateway twap',
    nodeArgs: profileArgs(cfg, 'twap'),
    env: {
      ...spec.env,
      REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}twap:`,
      ORDER_SLICE_RATE_LIMIT: '1000000',
      MAX_SLICE_PCT_OF_ADV: '1',
      DATABASE_POOL_SIZE: '20',
      RECONCILIATION_INTERVAL_SECONDS: String(RECONCILIATION_INTERVAL_S),
      DRY_RUN: 'false',
      BROKER: 'sim',
    },
  });
  try {
    const cpuStart = snapshotCpu(server.pid);
    const rssStart = rssMb(server.pid);
    let rssMax = rssStart;
    const started = Date.now();
    log(`twap: creating ${t.plans} plans (${t.minutes} min, a slice every ${t.intervalS} s)`);
    const plansCreated = await createPlans(server, adminKey, t);
    const createSeconds = (Date.now() - started) / 1000;
    // The last plan's last slice is due (minutes × 60 − interval) after its creation; wait for it and a margin.
    const until = Date.now() + (t.minutes * 60 - t.intervalS) * 1000 + 5_000;
    log(`twap: ${plansCreated} plans in ${createSeconds.toFixed(1)} s; running until every slice is due`);
    while (Date.now() < until && !signal.aborted) {
      await sleep(1000);
      const rss = rssMb(server.pid);
      if (rss !== null && (rssMax === null || rss > rssMax)) rssMax = rss;
      if (server.exitStatus()) throw new Error(`gateway ${server.exitStatus()}:\n${server.outputTail()}`);
    }
    const windowSeconds = (Date.now() - started) / 1000;
    const slicesSent = await withDb(databaseUrl, (db) =>
      db.query<{ n: string }>(`SELECT count(*) AS n FROM twap_slices WHERE sent_at IS NOT NULL`),
    );
    const cpu = cpuBetween(cpuStart, snapshotCpu(server.pid), Number(slicesSent.rows[0].n));
    const rssEnd = rssMb(server.pid);
    const runs = await reconciliationRuns(server.baseUrl);
    return await withDb(databaseUrl, async (db) => {
      const count = async (sql: string): Promise<Record<string, number>> =>
        Object.fromEntries((await db.query<{ k: string; n: string }>(sql)).rows.map((r) => [r.k, Number(r.n)]));
      const lag = await db.query<{ p50: number; p90: number; p99: number; max: number; count: string }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l) AS p50, percentile_cont(0.9) WITHIN GROUP (ORDER BY l) AS p90,
                percentile_cont(0.99) WITHIN GROUP (ORDER BY l) AS p99, max(l) AS max, count(*) AS count
           FROM (SELECT extract(epoch FROM sent_at - scheduled_time)::float8 AS l
                   FROM twap_slices WHERE sent_at IS NOT NULL) s`,
      );
      const r3 = (n: number | null) => (n === null ? 0 : Math.round(n * 1000) / 1000);
      return {
        plans: t.plans,
        plansCreated,
        createSeconds: Math.round(createSeconds * 10) / 10,
        windowSeconds: Math.round(windowSeconds),
        slices: await count(`SELECT state AS k, count(*) AS n FROM twap_slices GROUP BY 1 ORDER BY 1`),
        childStatuses: await count(
          `SELECT o.status AS k, count(*) AS n FROM orders o WHERE o.parent_order_id IS NOT NULL GROUP BY 1 ORDER BY 1`,
        ),
        planStatuses: await count(`SELECT status AS k, count(*) AS n FROM twap_plans GROUP BY 1 ORDER BY 1`),
        lagS: {
          p50: r3(lag.rows[0].p50),
          p90: r3(lag.rows[0].p90),
          p99: r3(lag.rows[0].p99),
          max: r3(lag.rows[0].max),
          count: Number(lag.rows[0].count),
        },
        cpu,
        rssMb: { start: rssStart, max: rssMax, end: rssEnd },
        reconciliation: {
          runs,
          findings: await count(`SELECT kind AS k, count(*) AS n FROM reconciliation_findings GROUP BY 1 ORDER BY 1`),
          quarantinedSlices: Number(
            (
              await db.query<{ n: string }>(
                `SELECT count(*) AS n FROM twap_slices WHERE reason_code = 'SYMBOL_QUARANTINED'`,
              )
            ).rows[0].n,
          ),
        },
      };
    });
  } finally {
    await server.stop();
  }
}

/** Reconciliation runs the gateway completed (its metric; null when it cannot be read). */
async function reconciliationRuns(baseUrl: string): Promise<number | null> {
  try {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const runs = text
      .split('\n')
      .filter((l) => l.startsWith('execution_gateway_reconciliation_runs_total'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    return Number.isFinite(runs) ? runs : null;
  } catch {
    return null;
  }
}

/**
 * Slices that missed their time: expired (late by the grace or more), or still
 * unsent when the window ends (`scheduled`: never claimed; `sending`: claimed,
 * waiting for the door). Every slice is due by then, so any of these is a
 * slice the gateway did not send in time, whose lag the p99 does not see.
 */
export function missedSlices(r: Pick<TwapResult, 'slices'>): { expired: number; unsent: number } {
  return { expired: r.slices.expired ?? 0, unsent: (r.slices.scheduled ?? 0) + (r.slices.sending ?? 0) };
}

export function checkTwap(r: TwapResult | undefined): TargetCheck[] {
  if (!r) return [];
  const missed = missedSlices(r);
  return [
    {
      name: `slice lag p99 <= ${LAG_TARGET_S} s, 0 expired/unsent`,
      value: `${r.lagS.p99} s, ${missed.expired} expired, ${missed.unsent} unsent`,
      pass: r.lagS.p99 <= LAG_TARGET_S && missed.expired === 0 && missed.unsent === 0,
    },
    {
      name: 'every plan accepted',
      value: `${r.plansCreated}/${r.plans}`,
      pass: r.plansCreated === r.plans,
    },
    {
      name: 'no slice refused for a quarantine',
      value: `${r.reconciliation.quarantinedSlices}`,
      pass: r.reconciliation.quarantinedSlices === 0,
    },
  ];
}

export function printTwapReport(r: TwapResult, checks: TargetCheck[]): void {
  const t = readTwapConfig(process.env);
  const out = [
    '',
    `twap: ${r.plans} plans (${t.minutes} min, a slice every ${t.intervalS} s), live gateway (DRY_RUN=false, sim broker); ${r.plansCreated} created in ${r.createSeconds} s, window ${r.windowSeconds} s`,
    `  slice lag (sent - scheduled), s:  p50 ${r.lagS.p50}  p90 ${r.lagS.p90}  p99 ${r.lagS.p99}  max ${r.lagS.max}  (${r.lagS.count} slices sent)`,
    `  slices by state: ${JSON.stringify(r.slices)}`,
    `  slices expired: ${missedSlices(r).expired}, unsent at the end of the window (scheduled or sending): ${missedSlices(r).unsent}`,
    `  child orders by status: ${JSON.stringify(r.childStatuses)}`,
    `  plans by status: ${JSON.stringify(r.planStatuses)}`,
    `  server CPU: ${r.cpu.serverPct ?? '?'} % of one core (${r.cpu.serverUsPerRequest ?? '?'} us per slice), postgres ${r.cpu.postgresPct ?? '?'} %, other ${r.cpu.otherPct ?? '?'} %`,
    `  server RSS, MB: start ${r.rssMb.start ?? '?'}, max ${r.rssMb.max ?? '?'}, end ${r.rssMb.end ?? '?'}`,
    `  reconciliation every ${RECONCILIATION_INTERVAL_S} s: ${r.reconciliation.runs ?? '?'} runs, findings ${JSON.stringify(r.reconciliation.findings)}, slices refused SYMBOL_QUARANTINED: ${r.reconciliation.quarantinedSlices}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  printTargets('twap targets', checks);
}
