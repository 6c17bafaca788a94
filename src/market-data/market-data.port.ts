/**
 * Market data as the pre-trade checks and the circuit breaker need it: the
 * latest price of a symbol with the time it was observed, and the average
 * daily volume. Prices are decimal strings; a price always carries its
 * timestamp so a caller can tell fresh from stale (SPEC §7 fat-finger
 * "max price age").
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
  /** Close of the most recent bar used. */
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
  averageDailyVolume(symbol: string): Promise<AverageDailyVolume | null>;
}

export class MarketDataUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MarketDataUnavailableError';
  }
}

/** DI token of the (cached) MarketDataProvider. */
export const MARKET_DATA = Symbol('MARKET_DATA');
