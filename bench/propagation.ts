/**
 * The `propagation` phase: how long a kill-switch change made on one gateway
 * takes to reach another. Two DRY_RUN gateways share one database and one
 * Redis (same key prefix). Each round engages the switch on A and polls B with
 * new orders every few milliseconds until B refuses one with 503
 * KILL_SWITCH_ENGAGED, then releases it on A and polls B until it accepts an
 * order again.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChildServer, freePort, ServerSpec, startServer } from './child';
import { BenchConfig, log, ORDERS_PATH, printTargets, REDIS_KEY_PREFIX, TargetCheck } from './config';
import { checkpoint, recreateDatabase } from './database';
import { gatewayOverrides, profileArgs, serverSpec } from './gateway-spec';
import { Percentiles, percentiles } from './latency';
import { round } from './load';
import { PIPELINE_ORDER, waitUntilAdmitting } from './pipeline';

/** A transition not seen on B within this long counts as missed. */
const TRANSITION_TIMEOUT_MS = 5_000;
/** Polls of B in flight at once at most (a slow answer must not pile requests up). */
const MAX_POLLS_IN_FLIGHT = 8;

export interface PropagationPhaseOptions {
  pgAdminUrl: string;
  databaseName: string;
  /** Instance `name` ('A' or 'B') on `port`, with `databaseUrl`. */
  spec: (name: 'A' | 'B', databaseUrl: string, port: number) => ServerSpec;
  adminKey: string;
  ordersPath: string;
  rounds: number;
  pollIntervalMs: number;
  /** Up to this long a random pause before each change, so the changes do not fall in step with the replicas' periodic re-read. */
  jitterMs: number;
  signal: AbortSignal;
  log: (message: string) => void;
}

export interface PropagationResult {
  rounds: number;
  pollIntervalMs: number;
  /** Change request sent to A → first answer from B that shows the change (ms), per completed round. */
  engageMs: Percentiles | null;
  releaseMs: Percentiles | null;
  /** Change request sent to A → A's answer (ms): how much of the above is A committing and announcing. */
  engageRequestMs: Percentiles | null;
  releaseRequestMs: Percentiles | null;
  /** Rounds in which B did not show the change within the timeout. */
  engageMissed: number;
  releaseMissed: number;
  /** Answers of B while polling, by status (and code for 503), e.g. {"201": 900, "503 KILL_SWITCH_ENGAGED": 20}. */
  pollAnswers: Record<string, number>;
  timeoutMs: number;
}

export async function runPropagationPhase(o: PropagationPhaseOptions): Promise<PropagationResult> {
  const databaseUrl = await recreateDatabase(o.pgAdminUrl, o.databaseName);
  if (!(await checkpoint(o.pgAdminUrl))) o.log('CHECKPOINT not permitted for the admin role; runs may interfere');
  const servers: ChildServer[] = [];
  try {
    // One after the other: the second start finds the migrations done.
    for (const name of ['A', 'B'] as const) {
      const port = await freePort();
      o.log(`propagation: starting gateway ${name} on 127.0.0.1:${port}`);
      servers.push(await startServer(o.spec(name, databaseUrl, port)));
    }
    const [a, b] = servers;
    for (const [i, s] of servers.entries()) {
      await waitUntilAdmitting(s, o.adminKey, o.ordersPath, `propagation gateway ${'AB'[i]}`, o.log);
    }
    // Both must start released (a previous run's state is gone with its database, but be sure).
    await change(a, o.adminKey, 'disengage');

    const poller = new Poller(b, o.adminKey, o.ordersPath, o.pollIntervalMs);
    const engage: number[] = [];
    const release: number[] = [];
    const engageRequest: number[] = [];
    const releaseRequest: number[] = [];
    let engageMissed = 0;
    let releaseMissed = 0;
    o.log(`propagation: ${o.rounds} rounds of engage on A -> refused on B -> release on A -> accepted on B`);
    for (let i = 0; i < o.rounds; i++) {
      if (o.signal.aborted) throw new Error('interrupted');
      for (const action of ['engage', 'disengage'] as const) {
        await sleep(Math.random() * o.jitterMs);
        const want: Wanted = action === 'engage' ? 'refused' : 'accepted';
        const sentAt = performance.now();
        const seen = poller.until(want, sentAt, TRANSITION_TIMEOUT_MS);
        const answered = change(a, o.adminKey, action).then(() => performance.now() - sentAt);
        const [seenAt, requestMs] = await Promise.all([seen, answered]);
        (action === 'engage' ? engageRequest : releaseRequest).push(requestMs);
        if (seenAt === null) {
          if (action === 'engage') engageMissed++;
          else releaseMissed++;
          o.log(`propagation round ${i + 1}: B did not show the ${action} within ${TRANSITION_TIMEOUT_MS} ms`);
          // Get B into the expected state before going on, or the next round measures nothing.
          if (!(await poller.until(want, performance.now(), 30_000))) throw new Error(`B never showed the ${action}`);
        } else {
          (action === 'engage' ? engage : release).push(seenAt - sentAt);
        }
      }
    }
    const exited = servers.map((s) => s.exitStatus()).find((e) => e);
    if (exited) throw new Error(`a propagation gateway ${exited}`);
    return {
      rounds: o.rounds,
      pollIntervalMs: o.pollIntervalMs,
      engageMs: percentiles(engage),
      releaseMs: percentiles(release),
      engageRequestMs: percentiles(engageRequest),
      releaseRequestMs: percentiles(releaseRequest),
      engageMissed,
      releaseMissed,
      pollAnswers: poller.answers,
      timeoutMs: TRANSITION_TIMEOUT_MS,
    };
  } finally {
    // Released again, so a leftover database is not a halted one; best effort.
    if (servers[0]) await change(servers[0], o.adminKey, 'disengage').catch(() => undefined);
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function change(server: ChildServer, adminKey: string, action: 'engage' | 'disengage'): Promise<void> {
  const body =
    action === 'engage'
      ? { operator: 'bench', reason: 'kill-switch propagation benchmark' }
      : { operator: 'bench', notes: 'kill-switch propagation benchmark' };
  const res = await fetch(`${server.baseUrl}/api/v1/kill-switch/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${action} on ${server.name} answered ${res.status}: ${text.slice(0, 300)}`);
  const engaged = (JSON.parse(text) as { engaged?: unknown }).engaged;
  if (engaged !== (action === 'engage'))
    throw new Error(`${action} on ${server.name} answered engaged=${String(engaged)}`);
}

type Wanted = 'refused' | 'accepted';

/**
 * Sends a new order to B every `intervalMs` (fewer when answers are slow) and
 * reports when the first answer of the wanted kind arrives. Only a poll sent
 * after the change was requested counts: an answer to an older one says
 * nothing about the change.
 */
class Poller {
  readonly answers: Record<string, number> = {};
  private n = 0;
  private readonly runId = randomBytes(3).toString('hex');

  constructor(
    private readonly server: ChildServer,
    private readonly adminKey: string,
    private readonly path: string,
    private readonly intervalMs: number,
  ) {}

  /** The time (performance.now()) of the first wanted answer to a poll sent at or after `since`; null on timeout. */
  async until(want: Wanted, since: number, timeoutMs: number): Promise<number | null> {
    const deadline = since + timeoutMs;
    let found: number | null = null;
    let inFlight = 0;
    const pending = new Set<Promise<void>>();
    while (found === null && performance.now() < deadline) {
      if (inFlight < MAX_POLLS_IN_FLIGHT) {
        inFlight++;
        const p = this.poll().then(
          (kind) => {
            if (kind === want && found === null) found = performance.now();
          },
          () => undefined,
        );
        const tracked = p.finally(() => {
          inFlight--;
          pending.delete(tracked);
        });
        pending.add(tracked);
      }
      await sleep(this.intervalMs);
    }
    // Leave nothing in flight to be counted in the next transition.
    await Promise.all(pending);
    return found;
  }

  private async poll(): Promise<Wanted | 'other'> {
    const res = await fetch(`${this.server.baseUrl}${this.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...PIPELINE_ORDER, idempotency_key: `k-${this.runId}-${++this.n}` }),
      signal: AbortSignal.timeout(TRANSITION_TIMEOUT_MS),
    });
    const text = await res.text();
    const killed = res.status === 503 && text.includes('KILL_SWITCH_ENGAGED');
    const key =
      res.status === 503
        ? `503 ${killed ? 'KILL_SWITCH_ENGAGED' : (/"code"\s*:\s*"([A-Z_]+)"/.exec(text)?.[1] ?? '?')}`
        : String(res.status);
    this.answers[key] = (this.answers[key] ?? 0) + 1;
    if (killed) return 'refused';
    return res.status === 201 ? 'accepted' : 'other';
  }
}

/** The phase's printed report (the target lines are printed by the caller with the others). */
export function formatPropagationReport(r: PropagationResult): string[] {
  const f = (n: number) => round(n, 1).toFixed(1);
  const row = (name: string, p: Percentiles | null, missed?: number) =>
    p === null
      ? `  ${name.padEnd(40)}  n/a`
      : `  ${name.padEnd(40)}  ${f(p.p50).padStart(7)}  ${f(p.p99).padStart(7)}  ${f(p.max).padStart(7)}  ${String(p.count).padStart(6)}${missed === undefined ? '' : `  ${String(missed).padStart(6)}`}`;
  return [
    '',
    `kill-switch propagation: two DRY_RUN gateways on one database and one Redis; engage/release on A, B polled with a new order every ${r.pollIntervalMs} ms, ${r.rounds} rounds`,
    '',
    `  ${'ms'.padEnd(40)}  ${'p50'.padStart(7)}  ${'p99'.padStart(7)}  ${'max'.padStart(7)}  ${'count'.padStart(6)}  ${'missed'.padStart(6)}`,
    row('engage sent to A -> B refuses (503)', r.engageMs, r.engageMissed),
    row('release sent to A -> B accepts (201)', r.releaseMs, r.releaseMissed),
    row('  engage sent to A -> A answers', r.engageRequestMs),
    row('  release sent to A -> A answers', r.releaseRequestMs),
    '',
    `  B's answers while polling: ${JSON.stringify(r.pollAnswers)}; a change not seen within ${r.timeoutMs / 1000} s counts as missed`,
  ];
}

/** The propagation phase: both instances' database, and the bound (docs/risk-and-safety.md#kill-switch) on a kill-switch change reaching every replica. */
const PROPAGATION_DATABASE_NAME = 'eg_bench_propagation';
const MAX_PROPAGATION_MS = 1_000;
const PROPAGATION_POLL_MS = 2;
/** Up to this long a random pause before each change: one periodic re-read (250 ms) of the replicas. */
const PROPAGATION_JITTER_MS = 250;

/** An instance of the propagation phase: both on one database and one Redis key prefix, as replicas are. */
function propagationSpec(
  name: 'A' | 'B',
  cfg: BenchConfig,
  databaseUrl: string,
  adminKey: string,
  port: number,
): ServerSpec {
  const spec = serverSpec('gateway', cfg, databaseUrl, adminKey, port);
  return {
    ...spec,
    name: `gateway propagation ${name}`,
    nodeArgs: profileArgs(cfg, 'propagation').map((a) =>
      a.replace('--cpu-prof-name=propagation-', `--cpu-prof-name=propagation-${name}-`),
    ),
    env: {
      ...spec.env,
      ...gatewayOverrides(),
      REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}propagation:`,
    },
  };
}

export function measurePropagation(
  cfg: BenchConfig,
  adminKey: string,
  signal: AbortSignal,
): Promise<PropagationResult> {
  return runPropagationPhase({
    pgAdminUrl: cfg.pgAdminUrl,
    databaseName: PROPAGATION_DATABASE_NAME,
    spec: (name, databaseUrl, port) => propagationSpec(name, cfg, databaseUrl, adminKey, port),
    adminKey,
    ordersPath: ORDERS_PATH,
    rounds: cfg.propagationRounds,
    pollIntervalMs: PROPAGATION_POLL_MS,
    jitterMs: PROPAGATION_JITTER_MS,
    signal,
    log,
  });
}

export function checkPropagation(r: PropagationResult | undefined): TargetCheck[] {
  if (!r) return [];
  const check = (what: string, p: PropagationResult['engageMs'], missed: number): TargetCheck => ({
    name: `kill switch ${what} on B, max <= ${MAX_PROPAGATION_MS} ms`,
    value: p ? `${p.max.toFixed(1)} ms` : 'n/a',
    pass: p !== null && missed === 0 && p.max <= MAX_PROPAGATION_MS,
  });
  return [check('engage', r.engageMs, r.engageMissed), check('release', r.releaseMs, r.releaseMissed)];
}

export function printPropagationReport(r: PropagationResult, checks: TargetCheck[]): void {
  process.stdout.write(`${formatPropagationReport(r).join('\n')}\n`);
  printTargets('targets', checks);
}
