/**
 * The embedded PostgreSQL across a crash (docs/operations.md#embedded-postgresql):
 * a child process starts it and writes a row, then is killed with SIGKILL, so
 * its PostgreSQL lives on as an orphan holding postmaster.pid and the port.
 * The next start must stop that orphan and come up on the same data; a stale
 * pid file of a dead process is ignored; a port held by something else fails
 * with one line naming the port and EMBEDDED_PG_PORT.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureBuilt, freePort, ROOT, waitUntil } from '../../support/crash-gateway';
import {
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
  type EmbeddedPostgresLog,
} from '../../../src/infra/database/embedded-postgres';

const MODULE = join(ROOT, 'dist', 'src', 'infra', 'database', 'embedded-postgres.js');
/** Starts the embedded PostgreSQL, writes one row, says READY and waits to be killed. */
const CHILD = `
const { startEmbeddedPostgres } = require(${JSON.stringify(MODULE)});
const { Client } = require('pg');
const [dir, port] = process.argv.slice(1);
const quiet = { info() {}, debug() {} };
startEmbeddedPostgres(dir, Number(port), quiet).then(async (pg) => {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  await c.query("CREATE TABLE survivor (v text); INSERT INTO survivor VALUES ('written before the crash')");
  await c.end();
  process.stdout.write('READY ' + pg.dataDir + '\\n');
  setInterval(() => undefined, 1000);
}, (err) => { process.stderr.write(String(err && err.message) + '\\n'); process.exit(2); });
`;

const dir = mkdtempSync(join(tmpdir(), 'eg-embedded-pg-'));
const pgDir = join(dir, 'postgres');
let dataDir = '';
let port = 0;
let handle: EmbeddedPostgresHandle | undefined;
let child: ChildProcess | undefined;
let blocker: Server | undefined;
const lines: string[] = [];
const log: EmbeddedPostgresLog = { info: (l) => lines.push(l), debug: () => undefined };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readSurvivor(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ v: string }>('SELECT v FROM survivor');
    return rows.map((r) => r.v);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  ensureBuilt();
  port = await freePort();
}, 180_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await handle?.stop();
  blocker?.close();
  // Under root the data may have been kept outside the temp directory (the symlink's target).
  if (dataDir && !dataDir.startsWith(dir)) rmSync(dataDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

it('stops the PostgreSQL orphaned by a SIGKILLed gateway and starts again on the same data', async () => {
  let out = '';
  child = spawn(process.execPath, ['-e', CHILD, pgDir, String(port)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  dataDir = await waitUntil('the child to start PostgreSQL', async () => /READY (.+)\n/.exec(out)?.[1], 25_000, 50);
  expect(realpathSync(pgDir)).toBe(dataDir);

  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
  const orphan = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  expect(alive(orphan)).toBe(true);

  const started = Date.now();
  handle = await startEmbeddedPostgres(pgDir, port, log);
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(alive(orphan)).toBe(false);
  expect(lines.join('\n')).toContain(
    `stopping the embedded PostgreSQL (pid ${orphan}) left running by a crashed gateway`,
  );
  expect(await readSurvivor(handle.url)).toEqual(['written before the crash']);
  await handle.stop();
  handle = undefined;
}, 60_000);

it('removes the stale postmaster.pid of a dead process and starts', async () => {
  const dead = spawnSync(process.execPath, ['-e', 'process.pid'], { stdio: 'ignore' }).pid;
  writeFileSync(join(dataDir, 'postmaster.pid'), `${dead}\n${dataDir}\n0\n${port}\n\n127.0.0.1\n`);
  lines.length = 0;
  handle = await startEmbeddedPostgres(pgDir, port, log);
  expect(lines.join('\n')).toContain(`removing the stale`);
  expect(await readSurvivor(handle.url)).toEqual(['written before the crash']);
  await handle.stop();
  handle = undefined;
}, 30_000);

it('fails with one line naming the busy port and EMBEDDED_PG_PORT', async () => {
  blocker = createServer();
  blocker.listen(port, '127.0.0.1');
  await once(blocker, 'listening');
  const err = await startEmbeddedPostgres(pgDir, port, log).then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err?.message).toBe(
    `embedded PostgreSQL: port ${port} on 127.0.0.1 is already in use by another process; stop it, or set EMBEDDED_PG_PORT to a free port (or DATABASE_URL to use your own PostgreSQL)`,
  );
  expect(err?.message).not.toContain('\n');
}, 30_000);
