/** The soak's sample table and its verdict (bench/soak.ts). */

/**
 * A 503 is the gateway failing closed (e.g. a safety state not confirmed within 1 s on a starved machine):
 * by design, but more than a trickle during a soak means something is wrong.
 */
const MAX_UNAVAILABLE_PCT = 1;

export interface SoakConfig {
  minutes: number;
  warmupMinutes: number;
  sampleS: number;
  rate: number;
  maxGrowthPct: number;
  pgAdminUrl: string;
}

export interface Sample {
  minute: number;
  rssMb: number;
  heapUsedMb: number;
  /** V8's heap as allocated, and memory held outside it (Buffers): where RSS goes besides the heap used. */
  heapTotalMb: number;
  externalMb: number;
  lagP99Ms: number;
  pgConnections: number;
  redisConnections: number;
  requests: number;
  ordersFilled: number;
  sseEvents: number;
}

export interface Counters {
  requests: number;
  byStatus: Map<string, number>;
  /** 5xx answers other than 503, which would be defects. */
  errors500: string[];
  /** 503 answers by error code: refusals the design makes (fail closed), counted and bounded. */
  unavailable: Map<string, number>;
  socketErrors: number;
  skipped: number;
  sseEvents: number;
  sseReconnects: number;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function printHeader(): void {
  const cols = [
    'min',
    'RSS MB',
    'heap MB',
    'heap tot MB',
    'ext MB',
    'lag p99 ms',
    'PG conns',
    'Redis conns',
    'requests',
    'filled',
    'SSE events',
  ];
  process.stdout.write(`\n${cols.map((h, i) => (i === 0 ? h.padEnd(5) : h.padStart(11))).join(' ')}\n`);
}

export function printRow(s: Sample): void {
  const cells = [
    s.rssMb,
    s.heapUsedMb,
    s.heapTotalMb,
    s.externalMb,
    s.lagP99Ms,
    s.pgConnections,
    s.redisConnections,
    s.requests,
    s.ordersFilled,
    s.sseEvents,
  ];
  process.stdout.write(`${String(s.minute).padEnd(5)} ${cells.map((v) => String(v).padStart(11)).join(' ')}\n`);
}

/**
 * Memory: the median of the last three samples against the median of the
 * first three after the warm-up (fewer in a short run; one sample of a
 * garbage-collected heap is noise). Connections: the most seen after the warm-up against the most seen
 * up to its end (a pool that has filled stays at or below its size).
 */
export function judge(
  cfg: SoakConfig,
  samples: Sample[],
  c: Counters,
  unsettled: number,
  exited: string | undefined,
): { pass: boolean; lines: string[] } {
  const warm = samples.filter((s) => s.minute <= cfg.warmupMinutes + 1e-9);
  const after = samples.filter((s) => s.minute > cfg.warmupMinutes + 1e-9);
  const lines: string[] = [];
  let pass = true;
  const check = (name: string, value: string, ok: boolean) => {
    lines.push(`${name.padEnd(48)} ${value.padStart(40)}  ${ok ? 'PASS' : 'FAIL'}`);
    pass &&= ok;
  };
  if (after.length < 2) {
    check('samples after the warm-up', String(after.length), false);
    return { pass: false, lines };
  }
  // Windows of up to three samples that never overlap: a short run compares its first and last samples.
  const width = Math.min(3, Math.floor(after.length / 2));
  const base = after.slice(0, width);
  const end = after.slice(-width);
  for (const [name, key] of [
    ['RSS', 'rssMb'],
    ['heap used', 'heapUsedMb'],
  ] as const) {
    const from = median(base.map((s) => s[key]));
    const to = median(end.map((s) => s[key]));
    const growth = ((to - from) / from) * 100;
    check(
      `${name} growth after the warm-up (< ${cfg.maxGrowthPct} %)`,
      `${from} → ${to} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %)`,
      growth < cfg.maxGrowthPct,
    );
  }
  for (const [name, key] of [
    ['PostgreSQL connections', 'pgConnections'],
    ['Redis connections', 'redisConnections'],
  ] as const) {
    const before = Math.max(...(warm.length ? warm : base).map((s) => s[key]));
    const most = Math.max(...after.map((s) => s[key]));
    const final = after[after.length - 1][key];
    check(`${name} do not grow`, `warm-up max ${before}, after max ${most}, end ${final}`, most <= before);
  }
  const lagMax = Math.max(...after.map((s) => s.lagP99Ms));
  lines.push(`${'event-loop lag p99, worst sample (reported)'.padEnd(48)} ${`${lagMax} ms`.padStart(40)}`);
  check('no 5xx answer other than 503', String(c.errors500.length), c.errors500.length === 0);
  const refused = [...c.unavailable.values()].reduce((a, b) => a + b, 0);
  const codes = [...c.unavailable].map(([k, v]) => `${k} ×${v}`).join(', ');
  check(
    `503 answers at most ${MAX_UNAVAILABLE_PCT} % of requests`,
    `${refused}${codes ? ` (${codes})` : ''}`,
    refused <= (c.requests * MAX_UNAVAILABLE_PCT) / 100,
  );
  check('every order settled', String(unsettled === -1 ? 'unknown' : `${unsettled} unsettled`), unsettled === 0);
  check('the gateway ran throughout', exited ?? 'yes', exited === undefined);
  return { pass, lines };
}
