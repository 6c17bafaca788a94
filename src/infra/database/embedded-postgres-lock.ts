/**
 * What to do with the `postmaster.pid` an earlier run left in the embedded
 * data directory (docs/operations.md#embedded-postgresql). Pure: the caller
 * reads the file and /proc, this decides.
 */

/** The lines of postmaster.pid that matter here: the postmaster's pid and data directory. */
export interface PidFile {
  pid: number;
  dataDir: string;
}

/** What /proc says about a process, or null when it does not exist. */
export interface ProcessView {
  /** argv of the process (empty when it cannot be read). */
  argv: string[];
  /** Its parent's pid. */
  ppid: number;
  /** argv[0] of its parent (empty when it cannot be read). */
  parentArgv0: string;
}

export type LockDecision =
  /** No pid file: start. */
  | { action: 'start' }
  /** The file names no live process, or a process that is not our postmaster: remove it, then start. */
  | { action: 'remove-stale'; pid: number }
  /** Our postmaster outlived the gateway that started it (kill -9): stop it, then start with the same data. */
  | { action: 'stop-orphan'; pid: number }
  /** Our postmaster is a live child of another running gateway: refuse. */
  | { action: 'in-use'; pid: number; ownerPid: number };

export function parsePidFile(text: string): PidFile | null {
  const lines = text.split('\n');
  const pid = Number(lines[0]?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { pid, dataDir: (lines[1] ?? '').trim() };
}

/**
 * - no file, or an unreadable one: start (PostgreSQL itself refuses an unreadable lock);
 * - the pid is dead: remove the stale file;
 * - the pid is alive but is not a postgres with our data directory (the pid
 *   was reused after a reboot or in a container): remove the stale file;
 * - it is our postmaster and its parent is a live node process other than
 *   init: another gateway owns it;
 * - otherwise it is an orphan of a crashed run: stop it.
 */
export function decideLock(
  file: PidFile | null,
  ourDataDir: string,
  proc: ProcessView | null,
  selfPid: number,
): LockDecision {
  if (!file) return { action: 'start' };
  if (!proc || file.pid === selfPid) return { action: 'remove-stale', pid: file.pid };
  if (!isOurPostmaster(proc.argv, ourDataDir)) return { action: 'remove-stale', pid: file.pid };
  if (proc.ppid > 1 && proc.ppid !== selfPid && isNode(proc.parentArgv0)) {
    return { action: 'in-use', pid: file.pid, ownerPid: proc.ppid };
  }
  return { action: 'stop-orphan', pid: file.pid };
}

function isOurPostmaster(argv: string[], dataDir: string): boolean {
  if (!argv.length || !/(^|\/)postgres$/.test(argv[0])) return false;
  const d = argv.indexOf('-D');
  return d >= 0 && argv[d + 1] === dataDir;
}

function isNode(argv0: string): boolean {
  return /(^|\/)node(js)?(\d+)?$/.test(argv0);
}
