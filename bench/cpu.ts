/**
 * CPU time spent by each party during a measured run, read from /proc
 * (Linux). On a small machine the server, PostgreSQL, Redis and the load
 * generator compete for the same cores; knowing who used them tells a slow
 * server apart from a saturated machine. Best effort: null where /proc is
 * not readable.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux build. */
const CLOCK_TICKS_PER_S = 100;

/** utime + stime of one process in ms, or null when it cannot be read. */
function processCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses; the fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** Summed CPU ms of every process whose command name is `comm` (e.g. every PostgreSQL backend). */
function commandCpuMs(comm: string): number | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  let total = 0;
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) continue;
    } catch {
      continue;
    }
    total += processCpuMs(Number(pid)) ?? 0;
  }
  return total;
}

/** Busy CPU ms of the whole machine, all cores summed (everything but idle and iowait). */
function machineBusyMs(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = fields;
    return ((user + nice + system + irq + softirq + (steal ?? 0)) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

export interface CpuSnapshot {
  at: number;
  machine: number | null;
  server: number | null;
  postgres: number | null;
  redis: number | null;
  loadGenerator: number;
}

export interface CpuUsage {
  /** Share of one core over the run: 100 means one core busy throughout. */
  serverPct: number | null;
  postgresPct: number | null;
  redisPct: number | null;
  loadGeneratorPct: number;
  /** Everything else running on the machine meanwhile: other work skews the figures. */
  otherPct: number | null;
  /** Server CPU per completed request, in microseconds. */
  serverUsPerRequest: number | null;
  postgresUsPerRequest: number | null;
}

export function snapshotCpu(serverPid: number | undefined): CpuSnapshot {
  const self = process.cpuUsage();
  return {
    at: performance.now(),
    machine: machineBusyMs(),
    server: serverPid === undefined ? null : processCpuMs(serverPid),
    postgres: commandCpuMs('postgres'),
    redis: commandCpuMs('redis-server'),
    loadGenerator: (self.user + self.system) / 1000,
  };
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, requests: number): CpuUsage {
  const wallMs = b.at - a.at;
  const pct = (x: number | null, y: number | null) =>
    x === null || y === null ? null : round1((100 * (y - x)) / wallMs);
  const perRequest = (x: number | null, y: number | null) =>
    x === null || y === null || requests === 0 ? null : round1(((y - x) * 1000) / requests);
  const serverPct = pct(a.server, b.server);
  const postgresPct = pct(a.postgres, b.postgres);
  const redisPct = pct(a.redis, b.redis);
  const loadGeneratorPct = round1((100 * (b.loadGenerator - a.loadGenerator)) / wallMs);
  const machinePct = pct(a.machine, b.machine);
  const known = (serverPct ?? 0) + (postgresPct ?? 0) + (redisPct ?? 0) + loadGeneratorPct;
  return {
    serverPct,
    postgresPct,
    redisPct,
    loadGeneratorPct,
    otherPct: machinePct === null ? null : round1(Math.max(0, machinePct - known)),
    serverUsPerRequest: perRequest(a.server, b.server),
    postgresUsPerRequest: perRequest(a.postgres, b.postgres),
  };
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
