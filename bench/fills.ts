/**
 * The `fills` phase: fills of one symbol at BENCH_FILLS_RATE per second
 * (500 by default) for BENCH_FILLS_SECONDS (5), reported by the sim broker on
 * its update stream, against the target that each is applied (its row in
 * `fills`) at most 1 s (p99) after the broker executed it.
 *
 * It rests rate × seconds limit buys of one share in one symbol at prices a
 * cent apart, one price per tenth of a second's worth of orders, below the
 * symbol's price; then lowers the sim's price (PUT /api/v1/sim/prices) a cent
 * every 100 ms, so each step crosses a tenth of a second's orders and the sim
 * fills them at once. Every fill's lag is the time the phase first saw its row
 * (polling every 50 ms, so up to that much late) minus its `executed_at` (the
 * sim's clock: the same machine).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Decimal from 'decimal.js';
import { BenchConfig, log, ORDERS_PATH, printTargets, TargetCheck } from './config';
import { percentiles, Percentiles } from './latency';
import { wallMs, withDb, withLiveGateway } from './live';
import { round } from './load';

export const FILLS_P99_BOUND_MS = 1_000;
const SYMBOL = 'FILLS';
const START_PRICE = new Decimal('10');
const STEP_MS = 100;
const POLL_MS = 50;

export interface FillsResult {
  rate: number;
  seconds: number;
  orders: number;
  rested: number;
  fillsSeen: number;
  /** Wall seconds from the first price step to the last fill seen. */
  spanS: number;
  lagMs: Percentiles | null;
}

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

async function call(
  method: string,
  url: string,
  key: string,
  body: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) as unknown };
  } catch {
    return { status: res.status, json: text };
  }
}

export async function measureFills(cfg: BenchConfig, adminKey: string, signal: AbortSignal): Promise<FillsResult> {
  const rate = intEnv('BENCH_FILLS_RATE', 500, 10, 5_000);
  const seconds = intEnv('BENCH_FILLS_SECONDS', 5, 1, 60);
  const perStep = Math.max(1, Math.round((rate * STEP_MS) / 1000));
  const steps = Math.round((seconds * 1000) / STEP_MS);
  const orders = perStep * steps;
  return withLiveGateway('fills', cfg, adminKey, async (server, databaseUrl) => {
    const prices = `${server.baseUrl}/api/v1/sim/prices/${SYMBOL}`;
    const set = await call('PUT', prices, adminKey, { price: START_PRICE.toFixed(2), operator: 'bench' });
    if (set.status >= 300)
      throw new Error(`fills: could not set the sim price: ${set.status} ${JSON.stringify(set.json)}`);
    // Step k's orders rest a cent lower each: 9.99, 9.98, ...; the price then walks down over them.
    const priceOf = (k: number) => START_PRICE.minus(new Decimal(k + 1).times('0.01'));
    const runId = randomBytes(3).toString('hex');
    log(`fills: resting ${orders} limit buys of ${SYMBOL} (${perStep} per cent, ${steps} cents)`);
    let next = 0;
    let rested = 0;
    await Promise.all(
      Array.from({ length: cfg.connections }, async () => {
        while (next < orders && !signal.aborted) {
          const i = next++;
          const r = await call('POST', `${server.baseUrl}${ORDERS_PATH}`, adminKey, {
            symbol: SYMBOL,
            side: 'buy',
            qty: 1,
            order_type: 'limit',
            limit_price: priceOf(Math.floor(i / perStep)).toFixed(2),
            idempotency_key: `fills-${runId}-${i}`,
          }).catch(() => ({ status: 0, json: null }));
          if (r.status === 201 || r.status === 202) rested++;
        }
      }),
    );
    return withDb(databaseUrl, async (db) => {
      // Every order resting at the broker before the price moves.
      for (let t = 0; t < 600 && !signal.aborted; t++) {
        const { rows } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM orders WHERE symbol = $1 AND status IN ('pending_new', 'submitted', 'accepted')`,
          [SYMBOL],
        );
        if (Number(rows[0].n) === 0) break;
        await sleep(100);
      }
      log(`fills: ${rested} resting; lowering the price a cent every ${STEP_MS} ms for ${seconds} s`);
      const seen = new Map<string, number>();
      const lags: number[] = [];
      let lastId = '0';
      let stepping = true;
      const started = wallMs();
      const poller = (async () => {
        const until = () =>
          !signal.aborted && (stepping || seen.size < rested) && wallMs() - started < (seconds + 30) * 1000;
        while (until()) {
          const { rows } = await db.query<{ id: string; executed: string }>(
            `SELECT id::text, (EXTRACT(EPOCH FROM executed_at) * 1000)::text AS executed FROM fills
              WHERE symbol = $1 AND id > $2 ORDER BY id`,
            [SYMBOL, lastId],
          );
          const now = wallMs();
          for (const r of rows) {
            lastId = r.id;
            if (seen.has(r.id)) continue;
            seen.set(r.id, now);
            lags.push(now - Number(r.executed));
          }
          await sleep(POLL_MS);
        }
      })();
      for (let k = 0; k < steps && !signal.aborted; k++) {
        const due = started + k * STEP_MS;
        const wait = due - wallMs();
        if (wait > 0) await sleep(wait);
        await call('PUT', prices, adminKey, { price: priceOf(k).toFixed(2), operator: 'bench' });
      }
      stepping = false;
      await poller;
      const lastSeen = Math.max(started, ...seen.values());
      return {
        rate,
        seconds,
        orders,
        rested,
        fillsSeen: seen.size,
        spanS: round((lastSeen - started) / 1000, 2),
        lagMs: percentiles(lags),
      };
    });
  });
}

export function checkFills(r: FillsResult | undefined): TargetCheck[] {
  if (!r) return [];
  return [
    {
      name: `fills applied p99 <= ${FILLS_P99_BOUND_MS} ms behind`,
      value: r.lagMs ? `${round(r.lagMs.p99, 1)} ms` : 'none',
      pass: r.lagMs !== null && r.fillsSeen === r.rested && r.lagMs.p99 <= FILLS_P99_BOUND_MS,
    },
  ];
}

export function printFillsReport(r: FillsResult, checks: TargetCheck[]): void {
  const l = r.lagMs;
  const out = [
    '',
    `fills: one symbol, ${r.rate} fills/s for ${r.seconds} s from the sim broker's stream (${r.rested} of ${r.orders} orders resting)`,
    `  fills applied: ${r.fillsSeen} of ${r.rested}, the last ${r.spanS} s after the first price step`,
    `  lag behind the broker's execution, ms: p50 ${l ? round(l.p50, 1) : '-'}, p90 ${l ? round(l.p90, 1) : '-'}, p99 ${l ? round(l.p99, 1) : '-'}, max ${l ? round(l.max, 1) : '-'}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  printTargets('targets (fills)', checks);
}
