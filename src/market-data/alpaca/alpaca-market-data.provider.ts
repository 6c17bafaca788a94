/**
 * MarketDataProvider on Alpaca's market data REST API through the official
 * SDK (@alpacahq/alpaca-trade-api 4.x).
 *
 * Design choices:
 * - The raw generated `marketData.StockApi` on a `marketData.Configuration({
 *   basePath })`: basePath sends every request exactly to ALPACA_DATA_URL (the
 *   `Alpaca` facade has no base URL option for market data), as the broker
 *   adapter does for trading.
 * - No SDK retries or client-side rate limiter, and one deadline per call as
 *   an AbortSignal (the SDK's own timeout is off so the two cannot disagree):
 *   a pre-trade check must answer quickly, and the caching decorator in front
 *   of this class already keeps the request rate down.
 * - Latest trade first; without one (404, none, or a voided trade), the
 *   latest quote's midpoint. Timestamps are the exchange's.
 * - ADV: the most recent daily bars, newest first, averaged in decimals
 *   (alpaca-market-data.parse.ts).
 * - 404 → null; anything else that fails → MarketDataUnavailableError.
 */
import { marketData } from '@alpacahq/alpaca-trade-api';
import type { Clock } from '../../infra/clock/clock';
import {
  MarketDataUnavailableError,
  type AverageDailyVolume,
  type MarketDataProvider,
  type PriceObservation,
} from '../market-data.port';
import {
  averageDailyVolumeFromBars,
  barsLookbackDays,
  classifyMarketDataFailure,
  quoteToObservation,
  tradeToObservation,
} from './alpaca-market-data.parse';

const DAY_MS = 86_400_000;

export interface AlpacaMarketDataOptions {
  keyId: string;
  secretKey: string;
  /** Market data REST root without `/v2`, e.g. https://data.alpaca.markets. */
  dataUrl: string;
  /** Daily bars averaged into ADV (MARKET_DATA_ADV_DAYS). */
  advDays: number;
  /** Where "today" is, for the bars' lookback window. */
  clock: Clock;
  /** Deadline of one request. Default 5000. */
  requestTimeoutMs?: number;
  /** Replaces global fetch (tests). */
  fetchApi?: marketData.FetchAPI;
}

export class AlpacaMarketDataProvider implements MarketDataProvider {
  private readonly stocks: marketData.StockApi;
  private readonly requestTimeoutMs: number;

  constructor(private readonly options: AlpacaMarketDataOptions) {
    if (!options.keyId || !options.secretKey) throw new Error('AlpacaMarketDataProvider needs a key id and a secret');
    if (!Number.isSafeInteger(options.advDays) || options.advDays < 1) {
      throw new RangeError(`advDays must be a positive integer, got ${options.advDays}`);
    }
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    const config = new marketData.Configuration({
      basePath: options.dataUrl.replace(/\/+$/, ''),
      keyId: options.keyId,
      secret: options.secretKey,
      // Our AbortSignal is the deadline; 0 disables the SDK's own. retry and rateLimit unset: off.
      timeoutMs: 0,
      ...(options.fetchApi ? { fetchApi: options.fetchApi } : {}),
    });
    this.stocks = new marketData.StockApi(config);
  }

  async latestPrice(symbol: string): Promise<PriceObservation | null> {
    const trade = await this.call('latest trade', symbol, async (init) => {
      const resp = await this.stocks.stockLatestTradeSingle({ symbol }, init);
      return tradeToObservation(symbol, resp?.trade);
    });
    if (trade) return trade;
    return this.call('latest quote', symbol, async (init) => {
      const resp = await this.stocks.stockLatestQuoteSingle({ symbol }, init);
      return quoteToObservation(symbol, resp?.quote);
    });
  }

  async averageDailyVolume(symbol: string): Promise<AverageDailyVolume | null> {
    const now = this.options.clock.now();
    const days = this.options.advDays;
    return this.call('daily bars', symbol, async (init) => {
      const resp = await this.stocks.stockBarSingle(
        {
          symbol,
          timeframe: '1Day',
          start: new Date(now.getTime() - barsLookbackDays(days) * DAY_MS),
          // No `end`: Alpaca's default end respects the account's data plan (e.g. the 15-minute SIP delay).
          // One more than needed: today's (partial) bar is dropped when present.
          limit: days + 1,
          sort: 'desc',
          adjustment: 'split',
        },
        init,
      );
      return averageDailyVolumeFromBars(symbol, resp?.bars, days, now);
    });
  }

  private async call<T>(what: string, symbol: string, fn: (init: RequestInit) => Promise<T | null>): Promise<T | null> {
    const signal = AbortSignal.timeout(this.requestTimeoutMs);
    try {
      return await fn({ signal });
    } catch (err) {
      const failure = classifyMarketDataFailure(err);
      if (failure.kind === 'not_found') return null;
      const reason = signal.aborted ? `no answer within ${this.requestTimeoutMs} ms` : failure.reason;
      throw new MarketDataUnavailableError(`Alpaca market data: ${what} of ${symbol} unavailable (${reason})`, {
        cause: err,
      });
    }
  }
}
