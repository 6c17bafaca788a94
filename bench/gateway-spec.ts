/**
 * How the bench starts a server: a clean environment, the DRY_RUN gateway's
 * settings (or the bare baseline's), BENCH_GATEWAY_* overrides and optional
 * CPU profiling. Phases derive their own specs from `serverSpec`.
 */
import { join } from 'node:path';
import { ServerSpec } from './child';
import { BenchConfig, DIST, Phase, READY_TIMEOUT_MS, REDIS_KEY_PREFIX, RESULTS_DIR, Side } from './config';

/**
 * Every gateway phase: the startup reconciliation at once, and limits that the load's orders
 * never reach (a refused order would count as an error, not throughput).
 */
export const GATEWAY_CHECKS_ENV = {
  RECONCILIATION_STARTUP_DELAY_SECONDS: '0',
  FAT_FINGER_MAX_NOTIONAL: '100000000',
  FAT_FINGER_MAX_QTY: '1000000',
  MAX_POSITION_SIZE: '100000000',
  MAX_POSITION_PCT: '1',
  MAX_OPEN_ORDERS_PER_STRATEGY: '1000000',
};

/** Children get a clean environment: whatever the caller exported (DATABASE_URL, broker keys...) must not leak in. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ']) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
}

/** Another build's entry point, to compare a variant against the same baseline; normally this build's. */
export function gatewayEntry(): string {
  return process.env.BENCH_GATEWAY_ENTRY?.trim() || join(DIST, 'src', 'main.js');
}

/** BENCH_GATEWAY_<NAME>=value reaches the gateway as <NAME>=value, to compare variants (e.g. LOG_LEVEL=info). */
export function gatewayOverrides(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('BENCH_GATEWAY_') && name !== 'BENCH_GATEWAY_ENTRY' && value !== undefined) {
      env[name.slice('BENCH_GATEWAY_'.length)] = value;
    }
  }
  return env;
}

export function profileArgs(cfg: BenchConfig, side: Phase): string[] {
  if (!cfg.cpuProfile) return [];
  return [
    '--require',
    join(__dirname, 'exit-on-signal.js'),
    '--cpu-prof',
    `--cpu-prof-dir=${join(RESULTS_DIR, 'profiles')}`,
    `--cpu-prof-name=${side}-${Date.now()}.cpuprofile`,
  ];
}

export function serverSpec(
  side: Side,
  cfg: BenchConfig,
  databaseUrl: string,
  adminKey: string,
  port: number,
): ServerSpec {
  const shared = {
    port,
    // Up, and the startup reconciliation done: until then only reduce-only orders would pass.
    readyPath: '/health',
    readyBody: /"reconciliation_gate":\{[^}]*"gate":"open"/,
    readyHeaders: { authorization: `Bearer ${adminKey}` },
    readyTimeoutMs: READY_TIMEOUT_MS,
    nodeArgs: profileArgs(cfg, side),
  };
  if (side === 'baseline') {
    return {
      ...shared,
      readyPath: '/health/ready',
      readyBody: undefined,
      readyHeaders: undefined,
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
      // Likewise the broker budget (docs/broker-pacing.md): live runs against the sim are not paced to Alpaca's 200/min.
      BROKER_RATE_LIMIT_PER_MINUTE: '1000000',
      ...GATEWAY_CHECKS_ENV,
      ...gatewayOverrides(),
    },
  };
}
