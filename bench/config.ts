/**
 * What every phase of `npm run bench` shares: the configuration read from the
 * environment, the paths and names the runs use, target checks and the log.
 */
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');
export const DIST = resolve(__dirname, '..');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const ORDERS_PATH = '/api/v1/orders';
export const REDIS_KEY_PREFIX = 'eg_bench:';
export const READY_TIMEOUT_MS = 60_000;
/** Above this much CPU (% of one core) used by unrelated processes during a run, the report says the figures are skewed. */
export const OTHER_CPU_WARN_PCT = 20;

export type Side = 'baseline' | 'gateway';
export type LivePhase = 'live' | 'latency' | 'burst' | 'fills';
export type SafetyPhase = 'pipeline' | 'propagation';
export type Phase = Side | LivePhase | SafetyPhase | 'reconciliation' | 'twap' | 'pnl' | 'performance';
export const PHASES: readonly Phase[] = [
  'baseline',
  'gateway',
  'live',
  'latency',
  'burst',
  'fills',
  'pipeline',
  'propagation',
  'reconciliation',
  'twap',
  'pnl',
  'performance',
];

export interface BenchConfig {
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

export function readConfig(env: NodeJS.ProcessEnv): BenchConfig {
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

export interface TargetCheck {
  name: string;
  value: string;
  pass: boolean | null;
}

export function printTargets(title: string, checks: TargetCheck[]): void {
  const out = ['', title];
  for (const c of checks) {
    out.push(`  ${c.name.padEnd(40)} ${c.value.padStart(9)}  ${c.pass === null ? 'SKIP' : c.pass ? 'PASS' : 'FAIL'}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
