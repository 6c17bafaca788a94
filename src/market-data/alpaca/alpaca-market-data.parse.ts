/**
 * Alpaca market data (trades, quotes, daily bars) → the MarketDataProvider
 * port. Pure functions: no SDK client, no Nest.
 *
 * Invariants:
 * - prices and volumes become decimal strings; the SDK hands them over as JS
 *   numbers (Alpaca sends JSON numbers), and String(n) is the shortest text
 *   that reads back as the same double, i.e. exactly what Alpaca wrote for any
 *   value with up to 15 significant digits (prices have at most 4 decimals);
 * - a timestamp is the exchange's (`t`), never the time of the fetch;
 * - anything unreadable (missing price, non-positive price, invalid date) is
 *   "no data" (null), never a made-up price.
 */
import { Decimal } from '../../common/decimal';
import type { AverageDailyVolume, PriceObservation } from '../market-data.port';

/** The fields of the SDK's StockTrade we read. */
export interface TradeLike {
  p?: unknown;
  t?: unknown;
  /** canceled | incorrect: the trade no longer stands; corrected: it replaces one that did not. */
  u?: unknown;
}

/** The fields of the SDK's StockQuote we read. */
export interface QuoteLike {
  ap?: unknown;
  bp?: unknown;
  t?: unknown;
}

/** The fields of the SDK's StockBar we read. */
export interface BarLike {
  v?: unknown;
  t?: unknown;
}

/** ADV is reported to this many decimal places (shares per day). */
export const ADV_DP = 2;

/** A wire number (or decimal string) as an exact Decimal, or undefined when it is not a finite number. */
export function wireDecimal(value: unknown): Decimal | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? new Decimal(String(value)) : undefined;
  }
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/.test(value)) {
    return new Decimal(value.trim());
  }
  return undefined;
}

function wireDate(value: unknown): Date | undefined {
  const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  return d !== undefined && Number.isFinite(d.getTime()) ? new Date(d.getTime()) : undefined;
}

const VOIDED_TRADE = new Set(['canceled', 'cancelled', 'incorrect']);

/** The latest trade as a price, or null when there is none or it no longer stands. */
export function tradeToObservation(symbol: string, trade: TradeLike | null | undefined): PriceObservation | null {
  if (trade == null || typeof trade !== 'object') return null;
  if (typeof trade.u === 'string' && VOIDED_TRADE.has(trade.u.toLowerCase())) return null;
  const price = wireDecimal(trade.p);
  const timestamp = wireDate(trade.t);
  if (price === undefined || !price.gt(0) || timestamp === undefined) return null;
  return { symbol, price: price.toFixed(), timestamp, source: 'trade' };
}

/**
 * The quote midpoint, (bid + ask) / 2, or null unless both sides are quoted
 * (Alpaca sends 0 for a missing side) and the book is not crossed.
 */
export function quoteToObservation(symbol: string, quote: QuoteLike | null | undefined): PriceObservation | null {
  if (quote == null || typeof quote !== 'object') return null;
  const bid = wireDecimal(quote.bp);
  const ask = wireDecimal(quote.ap);
  const timestamp = wireDate(quote.t);
  if (bid === undefined || ask === undefined || timestamp === undefined) return null;
  if (!bid.gt(0) || !ask.gt(0) || bid.gt(ask)) return null;
  return { symbol, price: bid.plus(ask).div(2).toFixed(), timestamp, source: 'quote' };
}

/** The New York calendar date (YYYY-MM-DD) of an instant: US equity sessions are dated in New York. */
export function newYorkDate(at: Date): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/New_York',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/**
 * Average daily volume over the most recent `days` completed sessions.
 *
 * Today's bar (dated today in New York) is left out: until the close it holds a
 * partial day and would drag the average down. Bars may arrive in any order;
 * unreadable bars are skipped. Fewer than `days` bars average what there is
 * (`days` in the answer says how many); none → null.
 */
export function averageDailyVolumeFromBars(
  symbol: string,
  bars: readonly BarLike[] | null | undefined,
  days: number,
  now: Date,
): AverageDailyVolume | null {
  if (!Array.isArray(bars) || days < 1) return null;
  const today = newYorkDate(now);
  const usable = bars
    .flatMap((bar) => {
      const volume = wireDecimal(bar?.v);
      const t = wireDate(bar?.t);
      if (volume === undefined || volume.lt(0) || t === undefined) return [];
      if (t.getTime() > now.getTime() || newYorkDate(t) === today) return [];
      return [{ volume, t }];
    })
    .sort((a, b) => b.t.getTime() - a.t.getTime())
    .slice(0, days);
  if (usable.length === 0) return null;
  const total = usable.reduce((sum, bar) => sum.plus(bar.volume), new Decimal(0));
  return {
    symbol,
    adv: total.div(usable.length).toDecimalPlaces(ADV_DP, Decimal.ROUND_HALF_EVEN).toFixed(),
    days: usable.length,
    asOf: usable[0].t,
  };
}

/**
 * Calendar days to ask for so that `days` sessions fit: five sessions a week,
 * plus room for holidays and today's session, which is dropped.
 */
export function barsLookbackDays(days: number): number {
  return Math.ceil(((days + 1) * 7) / 5) + 10;
}

/** Shape of the SDK's ApiError family and FetchError, read structurally (see alpaca-errors.ts). */
interface ErrorLike {
  name?: unknown;
  message?: unknown;
  status?: unknown;
}

/**
 * How a failed market data call reads: `not_found` (404: the symbol has no
 * data) or `unavailable` (everything else — network failure, timeout, 5xx,
 * 401/403, 429 — because then we cannot know whether a price exists).
 */
export function classifyMarketDataFailure(err: unknown): { kind: 'not_found' | 'unavailable'; reason: string } {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  if (typeof e.status === 'number') {
    return e.status === 404
      ? { kind: 'not_found', reason: `HTTP 404: ${message}` }
      : { kind: 'unavailable', reason: `HTTP ${e.status}: ${message}` };
  }
  const name = typeof e.name === 'string' ? e.name : 'Error';
  return { kind: 'unavailable', reason: `${name}: ${message}` };
}
