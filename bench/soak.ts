/**
 * `npm run soak`: a long run of mixed load against one live gateway (a child
 * process, DRY_RUN=false, the simulated broker), watching for leaks. Every
 * sample period it reads the gateway's RSS, heap used and event-loop lag p99
 * (its own /metrics), the PostgreSQL sessions on its database
 * (pg_stat_activity) and its Redis connections (CLIENT LIST on a redis-server
 * of the soak's own, so every other client is the gateway's). It passes when,
 * after the warm-up, memory grew less than SOAK_MAX_GROWTH_PCT, the
 * connection counts did not grow, no request was answered a 5xx other than
 * 503 (fail-closed refusals, at most 1 % of requests) and every order
 * settled. Not part of CI; see bench/README.md#soak.
 *
 * Load, per cycle of ten requests: two market buys and two market sells of one
 * share (filled by the sim), a limit buy far below the market (rests) and the
 * cancel of the oldest resting one, and four reads (order list, one order,
 * positions, real-time P&L); an SSE consumer of /api/v1/events runs
 * throughout and reconnects at every sample.
 *
 * Knobs: SOAK_MINUTES (30), SOAK_WARMUP_MINUTES (5), SOAK_SAMPLE_SECONDS (60),
 * SOAK_RATE (requests/s, 10), SOAK_MAX_GROWTH_PCT (10), BENCH_PG_ADMIN_URL;
 * the database eg_bench_soak_<pid> is dropped at the end unless SOAK_KEEP_DATABASE=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { Client } from 'pg';
import { freePort, killAllChildren, startServer } from './child';
import { log, ORDERS_PATH } from './config';
import { dropDatabase, recreateDatabase } from './database';
import { openEventStream, type EventStream } from './event-stream';
import { baseEnv, GATEWAY_CHECKS_ENV, gatewayEntry } from './gateway-spec';
import { Counters, judge, printHeader, printRow, Sample, SoakConfig } from './soak-report';

/** One database per run (dropped at its end), so a second soak started beside it cannot drop this one's. */
const DATABASE_PREFIX = 'eg_bench_soak_';
const SYMBOL = 'SOAK';
const REFERENCE_PRICE = '100';
const RESTING_LIMIT = '50';

function readSoakConfig(env: NodeJS.ProcessEnv): SoakConfig {
  const num = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number from ${min} to ${max}`);
    return n;
  };
  const minutes = num('SOAK_MINUTES', 30, 1, 24 * 60);
  const warmupMinutes = num('SOAK_WARMUP_MINUTES', Math.min(5, minutes / 3), 0, minutes - 0.5);
  return {
    minutes,
    warmupMinutes,
    sampleS: num('SOAK_SAMPLE_SECONDS', 60, 5, 3600),
    rate: num('SOAK_RATE', 10, 1, 500),
    maxGrowthPct: num('SOAK_MAX_GROWTH_PCT', 10, 0, 1000),
    pgAdminUrl: env.BENCH_PG_ADMIN_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

/** A redis-server of the soak's own: its CLIENT LIST is the gateway's connections plus the soak's monitor. */
async function startRedis(): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  process.on('exit', () => child.kill('SIGKILL'));
  const url = `redis://127.0.0.1:${port}/0`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  for (let i = 0; ; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      if (i > 50) throw new Error(`redis-server did not start on port ${port}`);
      await sleep(100);
    }
  }
  probe.disconnect();
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    },
  };
}

/** Reads one unlabelled sample of a Prometheus metric from an exposition. */
function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
async function main(): Promise<number> {
  const cfg = readSoakConfig(process.env);
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) {
      killAllChildren();
      process.exit(130);
    }
    log('soak: interrupted; stopping (again to kill at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllChildren);
  setTimeout(
    () => {
      log('soak: gave up: something hung');
      killAllChildren();
      process.exit(3);
    },
    (cfg.minutes * 60 + 300) * 1000,
  ).unref();

  const redis = await startRedis();
  const databaseName = `${DATABASE_PREFIX}${process.pid}`;
  const databaseUrl = await recreateDatabase(cfg.pgAdminUrl, databaseName);
  const adminKey = randomBytes(16).toString('hex');
  const port = await freePort();
  log(
    `soak: ${cfg.minutes} min (warm-up ${cfg.warmupMinutes} min), ${cfg.rate} req/s, a sample every ${cfg.sampleS} s; ` +
      `gateway DRY_RUN=false BROKER=sim on 127.0.0.1:${port}, database ${databaseName}, redis-server ${redis.url}`,
  );
  const server = await startServer({
    name: 'gateway soak',
    script: gatewayEntry(),
    port,
    readyPath: '/health',
    readyBody: /"reconciliation_gate":\{[^}]*"gate":"open"/,
    readyHeaders: { authorization: `Bearer ${adminKey}` },
    readyTimeoutMs: 60_000,
    env: {
      ...baseEnv(),
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: 'eg_soak:',
      ADMIN_API_KEY: adminKey,
      DRY_RUN: 'false',
      BROKER: 'sim',
      SIM_INITIAL_PRICES: `${SYMBOL}=${REFERENCE_PRICE}`,
      LOG_LEVEL: 'warn',
      ORDER_SUBMIT_RATE_LIMIT: '1000000',
      BROKER_RATE_LIMIT_PER_MINUTE: '1000000',
      ...GATEWAY_CHECKS_ENV,
    },
  });

  const redisMonitor = new Redis(redis.url, { connectionName: 'soak-monitor', maxRetriesPerRequest: 1 });
  const pg = new Client({ connectionString: databaseUrl, application_name: 'soak-monitor' });
  // A dropped monitor connection is a failed sample, not a crash of the soak.
  pg.on('error', (err) => log(`soak: monitor connection: ${err.message}`));
  await pg.connect();
  const c: Counters = {
    requests: 0,
    byStatus: new Map(),
    errors500: [],
    unavailable: new Map(),
    socketErrors: 0,
    skipped: 0,
    sseEvents: 0,
    sseReconnects: 0,
  };
  const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  const resting: string[] = [];
  const created: string[] = [];
  const runId = randomBytes(3).toString('hex');
  let n = 0;

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    c.requests += 1;
    try {
      const res = await fetch(`${server.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      const key = `${method === 'GET' ? 'read' : path.endsWith('/cancel') ? 'cancel' : 'submit'} ${res.status}`;
      c.byStatus.set(key, (c.byStatus.get(key) ?? 0) + 1);
      if (res.status === 503) {
        const code = /"error":"([A-Z_]+)"/.exec(text)?.[1] ?? 'no code';
        c.unavailable.set(code, (c.unavailable.get(code) ?? 0) + 1);
      } else if (res.status >= 500) c.errors500.push(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
      return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
    } catch {
      c.socketErrors += 1;
      return { status: 0, json: null };
    }
  };

  const actions: Array<() => Promise<unknown>> = [
    async () => submit('buy'),
    async () => call('GET', `${ORDERS_PATH}?limit=50`),
    async () => submit('sell'),
    async () => call('GET', '/api/v1/positions'),
    async () => {
      const id = `soak-${runId}-${++n}`;
      const r = await call('POST', ORDERS_PATH, {
        client_order_id: id,
        symbol: SYMBOL,
        side: 'buy',
        qty: 1,
        order_type: 'limit',
        limit_price: RESTING_LIMIT,
        time_in_force: 'day',
        strategy_id: 'soak',
      });
      if (r.status === 201 || r.status === 202) resting.push(id);
    },
    async () => submit('buy'),
    async () => call('GET', `/api/v1/positions/pnl/realtime?symbol=${SYMBOL}`),
    async () => submit('sell'),
    async () => {
      const id = created[created.length - 1];
      return id ? call('GET', `${ORDERS_PATH}/${id}`) : undefined;
    },
    async () => {
      const id = resting.length > 2 ? resting.shift() : undefined;
      return id ? call('POST', `${ORDERS_PATH}/${id}/cancel`, {}) : undefined;
    },
  ];
  async function submit(side: 'buy' | 'sell') {
    const id = `soak-${runId}-${++n}`;
    const r = await call('POST', ORDERS_PATH, {
      client_order_id: id,
      symbol: SYMBOL,
      side,
      qty: 1,
      strategy_id: 'soak',
    });
    if (r.status === 201 || r.status === 202) created.push(id);
    if (created.length > 1000) created.splice(0, 500);
  }

  let stream: EventStream | undefined;
  const openStream = async () => {
    stream?.close();
    stream = await openEventStream(server.baseUrl, adminKey, () => (c.sseEvents += 1), 10_000).catch((err: Error) => {
      log(`soak: event stream: ${err.message}`);
      return undefined;
    });
    c.sseReconnects += 1;
  };
  await openStream();

  const sampleOnce = async (minute: number): Promise<Sample> => {
    const text = await fetch(`${server.baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) }).then((r) =>
      r.text(),
    );
    const pgRows = await pg.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    const clients = String(await redisMonitor.client('LIST'))
      .split('\n')
      .filter((l) => l.trim() && !/ name=soak-monitor /.test(l));
    const filled = await pg.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status = 'filled'`);
    return {
      minute: Math.round(minute * 10) / 10,
      rssMb: mb(metric(text, 'process_resident_memory_bytes')),
      heapUsedMb: mb(metric(text, 'nodejs_heap_size_used_bytes')),
      heapTotalMb: mb(metric(text, 'nodejs_heap_size_total_bytes')),
      externalMb: mb(metric(text, 'nodejs_external_memory_bytes')),
      lagP99Ms: Math.round(metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1000 * 10) / 10,
      pgConnections: pgRows.rows[0].n,
      redisConnections: clients.length,
      requests: c.requests,
      ordersFilled: filled.rows[0].n,
      sseEvents: c.sseEvents,
    };
  };

  const samples: Sample[] = [];
  const startedAt = Date.now();
  const endAt = startedAt + cfg.minutes * 60_000;
  const inFlight = new Set<Promise<unknown>>();
  const maxInFlight = 32;
  const intervalMs = 1000 / cfg.rate;
  let next = startedAt;
  let tick = 0;
  let nextSample = startedAt + cfg.sampleS * 1000;
  printHeader();
  while (Date.now() < endAt && !abort.signal.aborted) {
    if (server.exitStatus()) break;
    if (inFlight.size >= maxInFlight) c.skipped += 1;
    else {
      const p = actions[tick % actions.length]().finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    tick += 1;
    if (Date.now() >= nextSample) {
      nextSample += cfg.sampleS * 1000;
      const s = await sampleOnce((Date.now() - startedAt) / 60_000).catch((err: Error) => {
        log(`soak: sample failed: ${err.message}`);
        return undefined;
      });
      if (s) {
        samples.push(s);
        printRow(s);
      }
      // A fresh subscription each period: a leak per connection would show as growth.
      await openStream();
    }
    next += intervalMs;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -1000) next = Date.now(); // behind: do not burst to catch up
  }
  await Promise.allSettled(inFlight);
  stream?.close();
  const exited = server.exitStatus();

  // Every order settles: none left on its way to the sim or unconfirmed.
  const settleDeadline = Date.now() + 60_000;
  let unsettled = -1;
  while (!exited && Date.now() < settleDeadline) {
    const r = await pg.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM orders WHERE status IN ('pending_new', 'submitted', 'submitted_unconfirmed')`,
    );
    unsettled = r.rows[0].n;
    if (unsettled === 0) break;
    await sleep(500);
  }
  const statuses = await pg.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM orders GROUP BY status ORDER BY status',
  );
  const last = exited ? undefined : await sampleOnce((Date.now() - startedAt) / 60_000).catch(() => undefined);

  await pg.end();
  if (process.env.SOAK_KEEP_DATABASE !== '1') await dropDatabase(cfg.pgAdminUrl, databaseName);
  redisMonitor.disconnect();
  await server.stop();
  await redis.stop();

  const verdict = judge(cfg, samples, c, unsettled, exited);
  const out = [
    '',
    `  after the load: ${last ? `RSS ${last.rssMb} MB, heap ${last.heapUsedMb} MB, PG ${last.pgConnections}, Redis ${last.redisConnections}` : 'no sample'}`,
    `  requests: ${c.requests} (${[...c.byStatus].map(([k, v]) => `${k} ×${v}`).join(', ')}); socket errors ${c.socketErrors}; skipped (32 in flight) ${c.skipped}`,
    `  event stream: ${c.sseEvents} events over ${c.sseReconnects} connections`,
    `  orders: ${statuses.rows.map((r) => `${r.status} ×${r.n}`).join(', ')}; unsettled after 60 s: ${unsettled}`,
    ...(c.errors500.length
      ? [`  5xx answers other than 503 (${c.errors500.length}): ${c.errors500.slice(0, 10).join(' | ')}`]
      : []),
    ...(exited ? [`  the gateway ${exited}; its last output:\n${server.outputTail()}`] : []),
    '',
    ...verdict.lines.map((l) => `  ${l}`),
    '',
    `${verdict.pass ? 'PASS' : 'FAIL'}: soak ${cfg.minutes} min at ${cfg.rate} req/s`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  return verdict.pass ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    killAllChildren();
    process.exit(2);
  },
);
