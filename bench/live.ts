/**
 * The live phases: the gateway with DRY_RUN=false against its in-process
 * simulated broker, so every order is written, submitted, acknowledged and
 * filled, and its fill published on the order-event stream.
 *
 * - live: POST /api/v1/orders under load; then how many of the measured run's
 *   orders reached `filled`, at the end of the load and within a grace period.
 * - latency: one Server-Sent Events connection to GET /api/v1/events, orders
 *   sent at low concurrency, and for each the time from the POST being sent
 *   (and from the broker's fill) to its `order.fill` event arriving.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { ChildServer } from './child';
import { LoadSummary, round, runLoad } from './load';

const ORDERS_PATH = '/api/v1/orders';
const EVENTS_PATH = '/api/v1/events';
/** Statuses an order leaves on its own once the broker answers. */
const IN_FLIGHT = ['pending_new', 'submitted', 'submitted_unconfirmed', 'accepted', 'new', 'partially_filled'];

export interface LivePhaseOptions {
  server: ChildServer;
  databaseUrl: string;
  adminKey: string;
  connections: number;
  durationS: number;
  warmupS: number;
  /** How long after the load the orders still in flight may take to fill. */
  settleS: number;
  /** After the settle period, how much longer to watch the rest fill (reported, not judged). */
  drainS: number;
  signal: AbortSignal;
  log: (message: string) => void;
}

export interface LiveResult extends LoadSummary {
  /** Orders the measured run created (its 201s and 202s), by status, at the end of the load. */
  ordersAtEnd: Record<string, number>;
  /** The same orders by status after the settle period (or once none was in flight). */
  ordersSettled: Record<string, number>;
  ordersCreated: number;
  filledAtEnd: number;
  filledSettled: number;
  /** Seconds after the load until no order was in flight, or the settle period when some still were. */
  settledAfterS: number;
  settleS: number;
  /** Seconds after the load until no order was in flight; null when some still were after drainS. */
  drainedAfterS: number | null;
  /** Filled orders at the end of the watch (settle period plus drainS at most). */
  filledDrained: number;
  drainS: number;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with other processes' clocks on this machine. */
function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

async function withDb<T>(databaseUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function statusCounts(c: Client, since: string): Promise<Record<string, number>> {
  const { rows } = await c.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM orders WHERE created_at >= $1 GROUP BY status ORDER BY status',
    [since],
  );
  const out: Record<string, number> = {};
  for (const r of rows) out[r.status] = Number(r.n);
  return out;
}

const sum = (counts: Record<string, number>, statuses?: string[]) =>
  Object.entries(counts).reduce((s, [k, v]) => (statuses === undefined || statuses.includes(k) ? s + v : s), 0);

/**
 * Distinct market orders of one share. Buys and sells alternate so the
 * simulated account's position stays near zero: its buying power (100 000 at
 * a reference price of 100) would otherwise refuse buys after about a thousand.
 */
function liveBodies(runId: string): () => string {
  let n = 0;
  return () => {
    n += 1;
    return JSON.stringify({ symbol: 'AAPL', side: n % 2 ? 'buy' : 'sell', qty: 1, idempotency_key: `l-${runId}-${n}` });
  };
}

export async function runLivePhase(o: LivePhaseOptions): Promise<LiveResult> {
  const runId = randomBytes(3).toString('hex');
  const load = {
    baseUrl: o.server.baseUrl,
    path: ORDERS_PATH,
    headers: { authorization: `Bearer ${o.adminKey}` },
    nextBody: liveBodies(runId),
    connections: o.connections,
    signal: o.signal,
  };
  if (o.warmupS > 0) {
    o.log(`live: warming up for ${o.warmupS} s`);
    await runLoad({ ...load, durationS: o.warmupS });
    if (o.signal.aborted) throw new Error('interrupted');
  }
  return withDb(o.databaseUrl, async (db) => {
    // The database's clock stamps created_at, so the measured run's orders are those created after this.
    const { rows } = await db.query<{ now: string }>('SELECT now()::text AS now');
    const since = rows[0].now;
    o.log(`live: measuring for ${o.durationS} s at ${o.connections} connections`);
    const result = await runLoad({ ...load, durationS: o.durationS });
    const endedAt = Date.now();
    const ordersAtEnd = await statusCounts(db, since);
    let ordersSettled = ordersAtEnd;
    while (sum(ordersSettled, IN_FLIGHT) > 0 && Date.now() - endedAt < o.settleS * 1000 && !o.signal.aborted) {
      await sleep(100);
      ordersSettled = await statusCounts(db, since);
    }
    const settledAfterS = round((Date.now() - endedAt) / 1000, 2);
    let drained = ordersSettled;
    const drainUntil = endedAt + (o.settleS + o.drainS) * 1000;
    if (sum(drained, IN_FLIGHT) > 0) o.log(`live: watching the orders still in flight for up to ${o.drainS} s more`);
    while (sum(drained, IN_FLIGHT) > 0 && Date.now() < drainUntil && !o.signal.aborted) {
      await sleep(250);
      drained = await statusCounts(db, since);
    }
    const drainedAfterS = sum(drained, IN_FLIGHT) === 0 ? round((Date.now() - endedAt) / 1000, 2) : null;
    const exited = o.server.exitStatus();
    if (exited) throw new Error(`live gateway ${exited} during the run; its last output:\n${o.server.outputTail()}`);
    if (result.errors > 0) o.log(`live: last output:\n${o.server.outputTail() || '(none)'}`);
    return {
      ...result,
      ordersAtEnd,
      ordersSettled,
      ordersCreated: sum(ordersSettled),
      filledAtEnd: ordersAtEnd.filled ?? 0,
      filledSettled: ordersSettled.filled ?? 0,
      settledAfterS: Math.min(settledAfterS, o.settleS),
      settleS: o.settleS,
      drainedAfterS,
      filledDrained: drained.filled ?? 0,
      drainS: o.drainS,
    };
  });
}

// ---------------------------------------------------------------------------
// Server-Sent Events

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface EventStream {
  close(): void;
  /** Why the stream ended, once it has. */
  endedBecause(): string | undefined;
}

export class MissingEndpointError extends Error {}

/**
 * Opens GET /api/v1/events and calls `onEvent` for every frame with the time
 * its bytes arrived. Resolves once the response head is in (the server sends
 * it when the stream is live).
 */
export function openEventStream(
  baseUrl: string,
  adminKey: string,
  onEvent: (e: SseEvent, receivedAtMs: number) => void,
  timeoutMs: number,
): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    let ended: string | undefined;
    const req = request(`${baseUrl}${EVENTS_PATH}`, {
      method: 'GET',
      headers: { accept: 'text/event-stream', authorization: `Bearer ${adminKey}` },
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`no response head from ${EVENTS_PATH} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      ended ??= err.message;
      reject(err);
    });
    req.once('response', (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.once('end', () => {
          const message = `GET ${EVENTS_PATH} answered ${res.statusCode}: ${body.slice(0, 300)}`;
          reject(res.statusCode === 404 ? new MissingEndpointError(message) : new Error(message));
        });
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        const at = wallMs();
        buffer += chunk;
        // Frames end with a blank line; tolerate CRLF as the format allows.
        buffer = buffer.replace(/\r\n?/g, '\n');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const e: SseEvent = { data: '' };
          const data: string[] = [];
          for (const line of frame.split('\n')) {
            if (line === '' || line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') e.id = value;
            else if (field === 'event') e.event = value;
            else if (field === 'data') data.push(value);
          }
          if (data.length === 0) continue;
          e.data = data.join('\n');
          onEvent(e, at);
        }
      });
      res.once('end', () => (ended ??= 'the server ended the stream'));
      res.once('error', (err) => (ended ??= err.message));
      resolve({
        close: () => {
          ended ??= 'closed by the benchmark';
          req.destroy();
        },
        endedBecause: () => ended,
      });
    });
    req.end();
  });
}

// ---------------------------------------------------------------------------
// Fill → event latency

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
