import { DomainError } from '../common/domain-error';

/**
 * Market data as the pre-trade checks and the circuit breaker need it: the
 * latest price of a symbol with the time it was observed, and the average
 * daily volume. Prices are decimal strings; a price always carries its
 * timestamp so a caller can tell fresh from stale (docs/risk-and-safety.md#fat-finger).
 */
export interface PriceObservation {
  symbol: string;
  /** Last trade price, or the quote midpoint when no trade is known. Decimal string. */
  price: string;
  /** When the exchange printed the trade/quote (not when we fetched it). */
  timestamp: Date;
  source: 'trade' | 'quote' | 'sim';
}

export interface AverageDailyVolume {
  symbol: string;
  /** Average shares per day over `days` daily bars. Decimal string. */
  adv: string;
  days: number;
  /** Start (`t`) of the most recent daily bar used: the session it covers. */
  asOf: Date;
}

/**
 * Lookups never throw for "no data": they answer null. They throw
 * MarketDataUnavailableError when the source cannot be reached, so a caller
 * can tell "no price exists" from "cannot know" (both refuse a market order,
 * with different messages).
 */
export interface MarketDataProvider {
  latestPrice(symbol: string): Promise<PriceObservation | null>;
  /**
   * Many symbols at once (the cached provider has it): a symbol whose lookup
   * failed is absent from the map, null is "no data".
   */
  latestPrices?(symbols: readonly string[]): Promise<Map<string, PriceObservation | null>>;
  /** Drops a cached observation of `symbol` (all when omitted), where the provider caches. */
  invalidate?(symbol?: string): void;
  averageDailyVolume(symbol: string): Promise<AverageDailyVolume | null>;
}

/**
 * The source could not be asked (network failure, timeout, 5xx, refused
 * credentials): unlike null, it says nothing about whether a price exists.
 * Uncaught, it is a 503; the pre-trade checks turn it into their own reason.
 */
export class MarketDataUnavailableError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unavailable', 'MARKET_DATA_UNAVAILABLE', message);
    if (options && 'cause' in options) this.cause = options.cause;
  }
}

/** DI token of the (cached) MarketDataProvider. */
export const MARKET_DATA = Symbol('MARKET_DATA');
