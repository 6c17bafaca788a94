/**
 * The `burst` phase (docs/broker-pacing.md): a burst of BENCH_BURST_ORDERS
 * orders (2,000 by default) against a live gateway whose broker budget is
 * BROKER_RATE_LIMIT_PER_MINUTE=600, with the sim broker. Every order must be
 * accepted (201 sent at once, or 202 queued) within 5 s; the last one must
 * reach the broker within orders / 600 minutes + 5 s of the burst; the broker
 * must answer no 429 (the sim is given a limit of its own, 660 a minute,
 * SIM_RATE_LIMIT_PER_MINUTE, so a gateway that sent more than its budget plus a
 * tenth in any minute meets 429s and fails the check); and cancels issued while the backlog lasts must reach
 * the broker within 1 s (p99; the cancel's answer comes after the broker's,
 * so its latency bounds the wait from above).
 *
 * The orders are limit buys of one share at 1 (the sim's price is 100), so
 * they rest at the broker and a cancel has something to cancel.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchConfig, log, ORDERS_PATH, printTargets, REDIS_KEY_PREFIX, TargetCheck } from './config';
import { percentiles, Percentiles } from './latency';
import { wallMs, withDb, withLiveGateway } from './live';
import { round } from './load';

export const BURST_BUDGET_PER_MINUTE = 600;
/** What the sim broker allows: a little above the gateway's budget, refused with a 429 like Alpaca's above it. */
export const BURST_BROKER_LIMIT_PER_MINUTE = 660;
export const BURST_ACCEPT_BOUND_S = 5;
export const BURST_DISPATCH_SLACK_S = 5;
export const BURST_CANCEL_P99_MS = 1_000;
const BURST_CANCELS = 40;
const SYMBOLS = 20;

export interface BurstResult {
  orders: number;
  budgetPerMinute: number;
  /** The sim broker's own limit (429 above it). */
  brokerLimitPerMinute: number;
  /** From the first request to the last answer. */
  acceptedInS: number;
  statusCodes: Record<string, number>;
  /** From the first request to the last order's submission at the broker; null if some never left pending_new. */
  lastDispatchedAfterS: number | null;
  dispatchBoundS: number;
  stillPending: number;
  brokerRateLimited: number | null;
  cancels: number;
  cancelStatusCodes: Record<string, number>;
  /** Latency of the cancels issued while the backlog lasted (an upper bound on their wait for the budget). */
  cancelMs: Percentiles | null;
}

export function burstOrders(env: NodeJS.ProcessEnv): number {
  const raw = env.BENCH_BURST_ORDERS?.trim();
  if (!raw) return 2_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 10 || n > 100_000)
    throw new Error('BENCH_BURST_ORDERS must be an integer from 10 to 100000');
  return n;
}

interface Answer {
  status: number;
  json: { client_order_id?: string } | null;
}

async function post(baseUrl: string, path: string, key: string, body: unknown): Promise<Answer> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) as Answer['json'] };
  } catch {
    return { status: res.status, json: null };
  }
}

async function rateLimitedTotal(baseUrl: string, key: string): Promise<number | null> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    if (!res.ok) return null;
    const text = await res.text();
    const line = text.split('\n').find((l) => l.startsWith('execution_gateway_broker_rate_limited_total'));
    return line ? Number(line.split(' ').pop()) : 0;
  } catch {
    return null;
  }
}

const count = (into: Record<string, number>, status: number) => (into[status] = (into[status] ?? 0) + 1);

export async function measureBurst(cfg: BenchConfig, adminKey: string, signal: AbortSignal): Promise<BurstResult> {
  const n = burstOrders(process.env);
  // A key prefix of the run's own: the budget's window must not hold an earlier run's calls.
  const env = {
    BROKER_RATE_LIMIT_PER_MINUTE: String(BURST_BUDGET_PER_MINUTE),
    SIM_RATE_LIMIT_PER_MINUTE: String(BURST_BROKER_LIMIT_PER_MINUTE),
    REDIS_KEY_PREFIX: `${REDIS_KEY_PREFIX}burst:${randomBytes(3).toString('hex')}:`,
  };
  return withLiveGateway(
    'burst',
    cfg,
    adminKey,
    async (server, databaseUrl) => {
      const runId = randomBytes(3).toString('hex');
      const codes: Record<string, number> = {};
      const sent: string[] = [];
      let next = 0;
      log(
        `burst: ${n} orders at ${cfg.connections} in flight, broker budget ${BURST_BUDGET_PER_MINUTE}/min, sim allowing ${BURST_BROKER_LIMIT_PER_MINUTE}/min`,
      );
      const started = wallMs();
      let lastAnswer = started;
      const answeredAt: Array<[number, number]> = [];
      await Promise.all(
        Array.from({ length: cfg.connections }, async () => {
          while (next < n && !signal.aborted) {
            const i = next++;
            const r = await post(server.baseUrl, ORDERS_PATH, adminKey, {
              symbol: `BRST${i % SYMBOLS}`,
              side: 'buy',
              qty: 1,
              order_type: 'limit',
              limit_price: '1',
              idempotency_key: `burst-${runId}-${i}`,
            }).catch(() => ({ status: 0, json: null }));
            lastAnswer = Math.max(lastAnswer, wallMs());
            answeredAt.push([r.status, wallMs() - started]);
            count(codes, r.status);
            if (r.status === 201 && r.json?.client_order_id) sent.push(r.json.client_order_id);
          }
        }),
      );
      const acceptedInS = round((lastAnswer - started) / 1000, 2);
      log(`burst: all answered after ${acceptedInS} s: ${JSON.stringify(codes)}`);
      for (const code of [201, 202]) {
        const at = answeredAt.filter(([c]) => c === code).map(([, t]) => t);
        if (at.length)
          log(
            `burst: ${code} x${at.length} from ${round(at[0] / 1000, 2)} s to ${round(at[at.length - 1] / 1000, 2)} s`,
          );
      }
      for (let s = 1; s <= Math.ceil(acceptedInS); s++) {
        log(`burst: answered by ${s} s: ${answeredAt.filter(([, t]) => t <= s * 1000).length}`);
      }

      return withDb(databaseUrl, async (db) => {
        const pending = async () =>
          Number(
            (await db.query<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE status = 'pending_new'`)).rows[0].n,
          );
        // Cancels while the backlog lasts: orders already at the broker, one every 250 ms.
        const cancelMs: number[] = [];
        const cancelCodes: Record<string, number> = {};
        for (const id of sent.slice(0, BURST_CANCELS)) {
          if (signal.aborted || (await pending()) === 0) break;
          const t0 = wallMs();
          const r = await post(server.baseUrl, `${ORDERS_PATH}/${id}/cancel`, adminKey, {}).catch(() => ({
            status: 0,
            json: null,
          }));
          cancelMs.push(wallMs() - t0);
          count(cancelCodes, r.status);
          await sleep(250);
        }
        const dispatchBoundS = (n / BURST_BUDGET_PER_MINUTE) * 60 + BURST_DISPATCH_SLACK_S;
        const deadline = started + (dispatchBoundS + 60) * 1000;
        let left = await pending();
        while (left > 0 && wallMs() < deadline && !signal.aborted) {
          await sleep(1_000);
          left = await pending();
        }
        const { rows } = await db.query<{ last: string | null }>(
          `SELECT (EXTRACT(EPOCH FROM max(submitted_at)) * 1000)::text AS last FROM orders`,
        );
        const last = rows[0].last === null ? null : Number(rows[0].last);
        return {
          orders: n,
          budgetPerMinute: BURST_BUDGET_PER_MINUTE,
          brokerLimitPerMinute: BURST_BROKER_LIMIT_PER_MINUTE,
          acceptedInS,
          statusCodes: codes,
          lastDispatchedAfterS: left === 0 && last !== null ? round((last - started) / 1000, 2) : null,
          dispatchBoundS: round(dispatchBoundS, 1),
          stillPending: left,
          brokerRateLimited: await rateLimitedTotal(server.baseUrl, adminKey),
          cancels: cancelMs.length,
          cancelStatusCodes: cancelCodes,
          cancelMs: percentiles(cancelMs),
        };
      });
    },
    env,
  );
}

export function checkBurst(r: BurstResult | undefined): TargetCheck[] {
  if (!r) return [];
  const accepted = Object.entries(r.statusCodes).every(([k]) => k === '201' || k === '202');
  return [
    {
      name: `all ${r.orders} accepted within ${BURST_ACCEPT_BOUND_S} s`,
      value: `${r.acceptedInS} s`,
      pass: accepted && r.acceptedInS <= BURST_ACCEPT_BOUND_S,
    },
    {
      name: `last dispatched within ${r.dispatchBoundS} s`,
      value: r.lastDispatchedAfterS === null ? `${r.stillPending} left` : `${r.lastDispatchedAfterS} s`,
      pass: r.lastDispatchedAfterS !== null && r.lastDispatchedAfterS <= r.dispatchBoundS,
    },
    {
      name: `broker 429s (sim allows ${r.brokerLimitPerMinute}/min)`,
      value: String(r.brokerRateLimited ?? 'n/a'),
      pass: r.brokerRateLimited === 0,
    },
    {
      name: `cancel during backlog p99 <= ${BURST_CANCEL_P99_MS} ms`,
      value: r.cancelMs ? `${round(r.cancelMs.p99, 1)} ms` : 'none',
      pass: r.cancelMs ? r.cancelMs.p99 <= BURST_CANCEL_P99_MS : null,
    },
  ];
}

export function printBurstReport(r: BurstResult, checks: TargetCheck[]): void {
  const c = r.cancelMs;
  const out = [
    '',
    `burst: ${r.orders} limit orders at once against a broker budget of ${r.budgetPerMinute}/min (live gateway, sim broker allowing ${r.brokerLimitPerMinute}/min, 429 above)`,
    `  answered: ${JSON.stringify(r.statusCodes)} within ${r.acceptedInS} s (201 sent at once, 202 queued)`,
    `  last order at the broker: ${r.lastDispatchedAfterS === null ? `not yet (${r.stillPending} still queued)` : `${r.lastDispatchedAfterS} s after the burst began`}`,
    `  cancels during the backlog: ${r.cancels} ${JSON.stringify(r.cancelStatusCodes)}; latency ms p50 ${c ? round(c.p50, 1) : '-'}, p90 ${c ? round(c.p90, 1) : '-'}, p99 ${c ? round(c.p99, 1) : '-'}, max ${c ? round(c.max, 1) : '-'}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  printTargets('targets (burst)', checks);
}
