/**
 * The `latency` phase: one Server-Sent Events connection to GET
 * /api/v1/events on the live gateway, orders sent at low concurrency, and for
 * each the time from the POST being sent (and from the broker's fill) to its
 * `order.fill` event arriving.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChildServer } from './child';
import { BenchConfig, log, ORDERS_PATH, TargetCheck } from './config';
import { MissingEndpointError, openEventStream, SseEvent } from './event-stream';
import { wallMs, withDb, withLiveGateway } from './live';
import { round } from './load';

/** Target (docs/order-lifecycle.md#order-events): broker fill → Server-Sent Event received, p99. */
export const MAX_FILL_TO_EVENT_P99_MS = 100;
/** The latency phase's wait for one order's fill event, and its bound on sending orders. */
export const LATENCY_EVENT_TIMEOUT_MS = 5_000;
export const LATENCY_MAX_S = 60;
/** Up to this long a random pause before each latency order: one publisher polling period. */
export const LATENCY_JITTER_MS = 200;

export interface LatencyPhaseOptions {
  server: ChildServer;
  databaseUrl: string;
  adminKey: string;
  orders: number;
  concurrency: number;
  /** Unmeasured orders first (JIT, pools, the stream's first frames). */
  warmupOrders: number;
  /** Longest wait for one order's fill event. */
  eventTimeoutMs: number;
  /** The phase stops sending new orders after this long. */
  maxS: number;
  /**
   * A random pause of up to this long before each order. Without it each
   * worker sends right after the previous event arrived, which locks the
   * sends to the publisher's polling phase and skews the figures.
   */
  jitterMs: number;
  signal: AbortSignal;
  log: (message: string) => void;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LatencyResult {
  orders: number;
  concurrency: number;
  /** Orders the gateway accepted (2xx). */
  accepted: number;
  statusCodes: Record<string, number>;
  /** Accepted orders whose `order.fill` event did not arrive in time. */
  missingEvents: number;
  /** POST sent → `order.fill` event received: an upper bound of fill → event. */
  postToEventMs: Percentiles | null;
  /** The fill's executed_at (fills table) → event received. */
  fillToEventMs: Percentiles | null;
  /** The event's created_at (written to the outbox) → event received. */
  eventWrittenToReceivedMs: Percentiles | null;
  /** POST sent → response received. */
  postResponseMs: Percentiles | null;
  /** Set when the stream ended before the phase did. */
  streamEnded?: string;
  elapsedS: number;
}

export function percentiles(values: number[]): Percentiles | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  const r = (n: number) => round(n, 2);
  return {
    count: s.length,
    p50: r(at(50)),
    p90: r(at(90)),
    p99: r(at(99)),
    max: r(s[s.length - 1]),
    mean: r(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

interface FillEventSeen {
  receivedAtMs: number;
  createdAtMs: number | undefined;
}

export async function runLatencyPhase(o: LatencyPhaseOptions): Promise<LatencyResult> {
  const runId = randomBytes(3).toString('hex');
  const seen = new Map<string, FillEventSeen>();
  const waiters = new Map<string, () => void>();
  const onEvent = (e: SseEvent, receivedAtMs: number) => {
    let msg: { type?: unknown; client_order_id?: unknown; created_at?: unknown };
    try {
      msg = JSON.parse(e.data) as typeof msg;
    } catch {
      return;
    }
    const type = typeof msg.type === 'string' ? msg.type : e.event;
    if (type !== 'order.fill' || typeof msg.client_order_id !== 'string') return;
    const id = msg.client_order_id;
    // A qty-1 order fills once; a redelivery (at-least-once) keeps the first arrival.
    if (seen.has(id)) return;
    const created = typeof msg.created_at === 'string' ? Date.parse(msg.created_at) : NaN;
    seen.set(id, { receivedAtMs, createdAtMs: Number.isNaN(created) ? undefined : created });
    waiters.get(id)?.();
  };
  const stream = await openEventStream(o.server.baseUrl, o.adminKey, onEvent, 10_000);
  try {
    const statusCodes: Record<string, number> = {};
    const sent = new Map<string, { sentAtMs: number; respondedAtMs: number }>();
    const started = Date.now();
    const deadline = started + o.maxS * 1000;
    let next = 0;
    const total = o.warmupOrders + o.orders;

    const one = async (i: number): Promise<void> => {
      const measured = i >= o.warmupOrders;
      const id = `lat-${runId}-${i}`;
      const body = JSON.stringify({ symbol: 'AAPL', side: 'buy', qty: 1, client_order_id: id });
      const arrived = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), o.eventTimeoutMs);
        waiters.set(id, () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      const sentAtMs = wallMs();
      let status: number;
      try {
        const res = await fetch(`${o.server.baseUrl}${ORDERS_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${o.adminKey}` },
          body,
          signal: AbortSignal.timeout(o.eventTimeoutMs),
        });
        await res.arrayBuffer();
        status = res.status;
      } catch {
        status = 0;
      }
      const respondedAtMs = wallMs();
      if (measured) statusCodes[String(status)] = (statusCodes[String(status)] ?? 0) + 1;
      if (status >= 200 && status < 300) {
        await arrived;
        if (measured) sent.set(id, { sentAtMs, respondedAtMs });
      }
      waiters.delete(id);
    };

    const worker = async () => {
      while (next < total && !o.signal.aborted && Date.now() < deadline && !stream.endedBecause()) {
        await sleep(Math.random() * o.jitterMs);
        if (next >= total || Date.now() >= deadline) break;
        await one(next++);
      }
    };
    o.log(`latency: ${o.warmupOrders} warm-up + ${o.orders} orders at concurrency ${o.concurrency}, one event stream`);
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const elapsedS = round((Date.now() - started) / 1000, 2);
    if (next < total) o.log(`latency: stopped after ${Math.max(0, next - o.warmupOrders)} measured orders`);

    const ids = [...sent.keys()];
    const executed = new Map<string, number>();
    await withDb(o.databaseUrl, async (db) => {
      const { rows } = await db.query<{ client_order_id: string; executed_ms: number }>(
        `SELECT client_order_id, (extract(epoch FROM min(executed_at)) * 1000)::float8 AS executed_ms
           FROM fills WHERE client_order_id = ANY($1) GROUP BY client_order_id`,
        [ids],
      );
      for (const r of rows) executed.set(r.client_order_id, Number(r.executed_ms));
    });

    const postToEvent: number[] = [];
    const fillToEvent: number[] = [];
    const writtenToReceived: number[] = [];
    const postResponse: number[] = [];
    let missingEvents = 0;
    for (const [id, s] of sent) {
      postResponse.push(s.respondedAtMs - s.sentAtMs);
      const e = seen.get(id);
      if (!e) {
        missingEvents += 1;
        continue;
      }
      postToEvent.push(e.receivedAtMs - s.sentAtMs);
      const ex = executed.get(id);
      if (ex !== undefined) fillToEvent.push(e.receivedAtMs - ex);
      if (e.createdAtMs !== undefined) writtenToReceived.push(e.receivedAtMs - e.createdAtMs);
    }
    const exited = o.server.exitStatus();
    if (exited) throw new Error(`live gateway ${exited} during the run; its last output:\n${o.server.outputTail()}`);
    return {
      orders: Math.max(0, Math.min(next, total) - o.warmupOrders),
      concurrency: o.concurrency,
      accepted: sent.size,
      statusCodes,
      missingEvents,
      postToEventMs: percentiles(postToEvent),
      fillToEventMs: percentiles(fillToEvent),
      eventWrittenToReceivedMs: percentiles(writtenToReceived),
      postResponseMs: percentiles(postResponse),
      streamEnded: stream.endedBecause(),
      elapsedS,
    };
  } finally {
    stream.close();
  }
}

/** The latency phase, or why it could not run (the gateway has no event stream). */
export async function measureLatency(
  cfg: BenchConfig,
  adminKey: string,
  signal: AbortSignal,
): Promise<LatencyResult | { skipped: string }> {
  try {
    return await withLiveGateway('latency', cfg, adminKey, (server, databaseUrl) =>
      runLatencyPhase({
        server,
        databaseUrl,
        adminKey,
        orders: cfg.latencyOrders,
        concurrency: cfg.latencyConcurrency,
        warmupOrders: Math.min(20, cfg.latencyOrders),
        eventTimeoutMs: LATENCY_EVENT_TIMEOUT_MS,
        maxS: LATENCY_MAX_S,
        jitterMs: LATENCY_JITTER_MS,
        signal,
        log,
      }),
    );
  } catch (err) {
    if (err instanceof MissingEndpointError) return { skipped: err.message };
    throw err;
  }
}

export function checkLatency(latency: LatencyResult | { skipped: string } | undefined): TargetCheck | undefined {
  if (!latency) return undefined;
  if ('skipped' in latency) {
    return { name: `fill -> SSE event p99 <= ${MAX_FILL_TO_EVENT_P99_MS} ms`, value: 'n/a', pass: null };
  }
  const measured = latency.fillToEventMs ?? latency.postToEventMs;
  const bound = latency.fillToEventMs ? '' : ' (upper bound: POST sent -> event)';
  const missing = latency.missingEvents > 0 || latency.accepted === 0;
  return {
    name: `fill -> SSE event p99 <= ${MAX_FILL_TO_EVENT_P99_MS} ms${bound}`,
    value: measured ? `${measured.p99.toFixed(1)} ms` : 'n/a',
    // An order whose event never came is a miss however fast the others were.
    pass: measured === null ? false : measured.p99 <= MAX_FILL_TO_EVENT_P99_MS && !missing,
  };
}

export function printLatencyReport(r: LatencyResult | { skipped: string }, check: TargetCheck): void {
  const out = ['', `fill-to-event latency: one SSE stream on GET /api/v1/events, market buys of 1 share, live gateway`];
  if ('skipped' in r) {
    out.push(`  skipped: ${r.skipped}`);
  } else {
    const row = (name: string, p: Percentiles | null) =>
      p === null
        ? `  ${name.padEnd(34)}  n/a`
        : `  ${name.padEnd(34)}  ${p.p50.toFixed(1).padStart(7)}  ${p.p90.toFixed(1).padStart(7)}  ${p.p99.toFixed(1).padStart(7)}  ${p.max.toFixed(1).padStart(7)}  ${String(p.count).padStart(6)}`;
    out.push(
      `  ${r.orders} orders (after warm-up) at concurrency ${r.concurrency} in ${r.elapsedS.toFixed(1)} s; status codes ${JSON.stringify(r.statusCodes)}; fill events missing after ${LATENCY_EVENT_TIMEOUT_MS / 1000} s: ${r.missingEvents}`,
      '',
      `  ${'ms'.padEnd(34)}  ${'p50'.padStart(7)}  ${'p90'.padStart(7)}  ${'p99'.padStart(7)}  ${'max'.padStart(7)}  ${'count'.padStart(6)}`,
      row('(b) fill executed_at -> SSE event', r.fillToEventMs),
      row('(a) POST sent -> SSE event', r.postToEventMs),
      row('    event created_at -> SSE event', r.eventWrittenToReceivedMs),
      row('    POST sent -> POST response', r.postResponseMs),
    );
    if (r.streamEnded) out.push(`  warning: the event stream ended early: ${r.streamEnded}`);
  }
  out.push(
    '',
    'target',
    `  ${check.name.padEnd(34)} ${check.value.padStart(9)}  ${check.pass === null ? 'SKIP' : check.pass ? 'PASS' : 'FAIL'}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}
