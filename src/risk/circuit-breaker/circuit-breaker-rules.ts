/**
 * The automatic trip conditions (docs/risk-and-safety.md#circuit-breaker), as pure functions of the figures
 * the monitor gathers. Each answers null (no trip) or the trip with its reason
 * code, a message for operators and the figures behind it (decimals as
 * strings), which go into the audit row.
 *
 * Boundaries
 * - DAILY_LOSS: trips when today's total P&L ≤ −limit (exactly at the limit trips).
 * - DRAWDOWN: trips when (peak − equity) / peak ≥ maxPct (exactly at it trips).
 * - STALE_MARKET_DATA: a held symbol's price older than maxAge seconds trips
 *   (exactly maxAge old does not); no price, or no answer from the source, trips.
 * - BROKER_ERRORS: the threshold-th error inside the window trips.
 */
import { Decimal } from '../../common/decimal';
import { TripReasonCode } from './circuit-breaker-state';

export interface TripDecision {
  reasonCode: TripReasonCode;
  reason: string;
  details: Record<string, unknown>;
}

export function evaluateDailyLoss(totalPnl: string, dailyLossLimit: string): TripDecision | null {
  const total = new Decimal(totalPnl);
  const limit = new Decimal(dailyLossLimit);
  if (total.gt(limit.neg())) return null;
  return {
    reasonCode: 'DAILY_LOSS',
    reason: `Daily loss ${total.neg().toFixed()} reached the limit of ${limit.toFixed()}`,
    details: { total_pnl: total.toFixed(), daily_loss_limit: limit.toFixed() },
  };
}

export function evaluateDrawdown(equity: string, peakEquity: string, maxDrawdownPct: string): TripDecision | null {
  const eq = new Decimal(equity);
  const peak = new Decimal(peakEquity);
  const max = new Decimal(maxDrawdownPct);
  if (peak.lte(0)) return null;
  const drawdown = peak.minus(eq).div(peak);
  if (drawdown.lt(max)) return null;
  return {
    reasonCode: 'DRAWDOWN',
    reason: `Equity ${eq.toFixed()} is ${drawdown.mul(100).toDecimalPlaces(4).toFixed()} % below the day's peak ${peak.toFixed()} (limit ${max.mul(100).toFixed()} %)`,
    details: {
      equity: eq.toFixed(),
      peak_equity: peak.toFixed(),
      drawdown_pct: drawdown.toDecimalPlaces(8).toFixed(),
      max_drawdown_pct: max.toFixed(),
    },
  };
}

/** The latest price of a held symbol as the monitor found it. */
export type HeldSymbolPrice =
  | { symbol: string; qty: string; kind: 'price'; timestamp: Date }
  | { symbol: string; qty: string; kind: 'none' }
  | { symbol: string; qty: string; kind: 'unavailable'; error: string };

export function evaluateStaleMarketData(
  held: HeldSymbolPrice[],
  now: Date,
  maxAgeSeconds: number,
): TripDecision | null {
  const stale: Array<Record<string, unknown>> = [];
  for (const h of held) {
    if (new Decimal(h.qty).isZero()) continue;
    if (h.kind === 'price') {
      const ageMs = now.getTime() - h.timestamp.getTime();
      if (ageMs > maxAgeSeconds * 1000) {
        stale.push({ symbol: h.symbol, qty: h.qty, price_at: h.timestamp.toISOString(), age_ms: ageMs });
      }
    } else if (h.kind === 'none') {
      stale.push({ symbol: h.symbol, qty: h.qty, price_at: null, problem: 'no price' });
    } else {
      stale.push({ symbol: h.symbol, qty: h.qty, price_at: null, problem: `market data unavailable: ${h.error}` });
    }
  }
  if (!stale.length) return null;
  return {
    reasonCode: 'STALE_MARKET_DATA',
    reason: `Market data older than ${maxAgeSeconds} s or missing for held ${stale.length === 1 ? 'symbol' : 'symbols'} ${stale.map((s) => s.symbol as string).join(', ')}`,
    details: { max_age_seconds: maxAgeSeconds, symbols: stale },
  };
}

/**
 * Given the sliding-window count after a broker error was recorded (or that the
 * window is already full), whether the breaker trips.
 */
export function evaluateBrokerErrors(
  window: { full: true } | { full: false; count: number },
  threshold: number,
  windowSeconds: number,
  lastError: { operation: string; kind: string; message: string },
): TripDecision | null {
  const count = window.full ? threshold : window.count;
  if (count < threshold) return null;
  return {
    reasonCode: 'BROKER_ERRORS',
    reason: `${threshold} or more broker errors within ${windowSeconds} s`,
    details: {
      threshold,
      window_seconds: windowSeconds,
      last_error: { operation: lastError.operation, kind: lastError.kind, message: lastError.message },
    },
  };
}
