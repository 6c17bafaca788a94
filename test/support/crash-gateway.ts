/**
 * The gateway as a real child process (node dist/src/main.js), for tests that
 * crash it with SIGKILL and start it again on the same database.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const MAIN_JS = join(ROOT, 'dist', 'src', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when main.js is missing or older than the newest file under src/. */
export function ensureBuilt(): void {
  if (existsSync(MAIN_JS) && statSync(MAIN_JS).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  execFileSync('npx', ['nest', 'build'], { cwd: ROOT, timeout: 120_000, stdio: 'pipe' });
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface GatewayProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Tail of the child's stdout + stderr, for failure messages. */
  output(): string;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
}

const OUTPUT_TAIL = 16_000;

/** Spawns the gateway on a free 127.0.0.1 port and waits until it is healthy with its reconciliation gate open. */
export async function startGateway(env: Record<string, string>, readyTimeoutMs = 15_000): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = once(child, 'exit');
  const gw: GatewayProcess = {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  try {
    await waitUntil(
      'the gateway to become ready',
      async () => {
        if (child.exitCode !== null) return true; // reported below
        // Ready, and its startup reconciliation done: until then only reduce-only orders would pass.
        // The gate's state is a /health detail: it needs a key.
        const res = await fetch(`${gw.baseUrl}/health`, {
          headers: env.ADMIN_API_KEY ? { Authorization: `Bearer ${env.ADMIN_API_KEY}` } : {},
          signal: AbortSignal.timeout(1_000),
        });
        const body = (await res.json()) as { details?: { reconciliation_gate?: { gate?: string } } };
        return res.status === 200 && body.details?.reconciliation_gate?.gate === 'open';
      },
      readyTimeoutMs,
      50,
    );
    if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}`);
  } catch (err) {
    await gw.kill();
    throw new Error(`${(err as Error).message}\n--- gateway output ---\n${out}`, { cause: err });
  }
  return gw;
}

/**
 * The environment of a live gateway process against a fake Alpaca, as the
 * crash suites run it (DRY_RUN=false, the real adapter, 1 s polling, no
 * startup delay); `extra` adds or overrides variables.
 */
export function liveGatewayEnv(
  fake: { keyId: string; secretKey: string; baseUrl: string; streamUrl: string },
  base: { databaseUrl: string; redisPrefix: string; adminKey: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: base.databaseUrl,
    DATABASE_POOL_SIZE: '10',
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    REDIS_KEY_PREFIX: base.redisPrefix,
    ADMIN_API_KEY: base.adminKey,
    LOG_LEVEL: 'warn',
    DRY_RUN: 'false',
    BROKER: 'alpaca',
    ALPACA_API_KEY_ID: fake.keyId,
    ALPACA_API_SECRET_KEY: fake.secretKey,
    ALPACA_BASE_URL: fake.baseUrl,
    ALPACA_STREAM_URL: fake.streamUrl,
    ALPACA_DATA_URL: fake.baseUrl,
    ALPACA_PAPER: 'true',
    ORDER_POLL_INTERVAL_SECONDS: '1',
    RECONCILIATION_STARTUP_DELAY_SECONDS: '0',
    ...extra,
  };
}
