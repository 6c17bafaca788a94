/**
 * `sim` market data: deterministic and offline, for the sim broker and tests.
 *
 * Invariants:
 * - a symbol's price is the sim exchange's reference price (the price its
 *   market orders fill at) when a price source is attached, so a fat-finger
 *   notional is computed at the price the order will trade at; without a
 *   source, `referencePrices` / `defaultPrice` (the sim broker's defaults);
 * - the timestamp is the injected clock's "now", so a price is always fresh,
 *   also under a ManualClock, unless a test pins a timestamp;
 * - ADV is `defaultAdv` (large, so ADV checks pass unless a test says otherwise);
 * - test settings (price, timestamp, ADV, no data) win over everything and
 *   are announced to `onChange` listeners (the cache drops the symbol).
 */
import { Decimal } from '../../common/decimal';
import type { Clock } from '../../infra/clock/clock';
import type { AverageDailyVolume, MarketDataProvider, PriceObservation } from '../market-data.port';

/** Where reference prices come from: the SimBrokerClient has `referencePrice(symbol)`. */
export interface SimPriceSource {
  referencePrice(symbol: string): string;
}

export interface SimMarketDataOptions {
  clock: Clock;
  /** The sim exchange's prices; when absent, `referencePrices` and `defaultPrice`. */
  priceSource?: SimPriceSource;
  referencePrices?: Record<string, string>;
  /** Same default as the sim broker's. */
  defaultPrice?: string;
  /** Default 100,000,000 shares a day. */
  defaultAdv?: string;
  /** Reported as the ADV's `days` (MARKET_DATA_ADV_DAYS). Default 20. */
  advDays?: number;
}

export const SIM_DEFAULT_PRICE = '100';
export const SIM_DEFAULT_ADV = '100000000';

interface SymbolOverride {
  price?: string;
  timestamp?: Date;
  adv?: string;
  noPrice?: boolean;
  noAdv?: boolean;
}

function positive(value: string, what: string): string {
  let d: Decimal;
  try {
    d = new Decimal(value);
  } catch {
    throw new RangeError(`${what} must be a positive decimal string, got ${JSON.stringify(value)}`);
  }
  if (!d.isFinite() || !d.gt(0)) {
    throw new RangeError(`${what} must be a positive decimal string, got ${JSON.stringify(value)}`);
  }
  return d.toFixed();
}

export class SimMarketDataProvider implements MarketDataProvider {
  private readonly clock: Clock;
  private readonly priceSource?: SimPriceSource;
  private readonly prices: Map<string, string>;
  private readonly defaultPrice: string;
  private readonly defaultAdv: string;
  private readonly advDays: number;
  private readonly overrides = new Map<string, SymbolOverride>();
  private readonly listeners = new Set<(symbol: string | undefined) => void>();

  constructor(options: SimMarketDataOptions) {
    this.clock = options.clock;
    this.priceSource = options.priceSource;
    this.prices = new Map(
      Object.entries(options.referencePrices ?? {}).map(([s, p]) => [s, positive(p, `referencePrices.${s}`)]),
    );
    this.defaultPrice = positive(options.defaultPrice ?? SIM_DEFAULT_PRICE, 'defaultPrice');
    this.defaultAdv = positive(options.defaultAdv ?? SIM_DEFAULT_ADV, 'defaultAdv');
    this.advDays = options.advDays ?? 20;
  }

  latestPrice(symbol: string): Promise<PriceObservation | null> {
    const o = this.overrides.get(symbol);
    if (o?.noPrice) return Promise.resolve(null);
    const price = o?.price ?? this.priceSource?.referencePrice(symbol) ?? this.prices.get(symbol) ?? this.defaultPrice;
    const timestamp = o?.timestamp ? new Date(o.timestamp.getTime()) : this.clock.now();
    return Promise.resolve({ symbol, price: new Decimal(price).toFixed(), timestamp, source: 'sim' });
  }

  averageDailyVolume(symbol: string): Promise<AverageDailyVolume | null> {
    const o = this.overrides.get(symbol);
    if (o?.noAdv) return Promise.resolve(null);
    return Promise.resolve({ symbol, adv: o?.adv ?? this.defaultAdv, days: this.advDays, asOf: this.clock.now() });
  }

  // --- test controls ------------------------------------------------------------------

  /** Pins the price (over the price source). */
  setPrice(symbol: string, price: string): void {
    this.update(symbol, { price: positive(price, `price of ${symbol}`), noPrice: false });
  }

  /** Pins the observation time, e.g. in the past to make the price stale. */
  setTimestamp(symbol: string, at: Date | string): void {
    const timestamp = new Date(at);
    if (!Number.isFinite(timestamp.getTime())) throw new RangeError(`invalid timestamp for ${symbol}`);
    this.update(symbol, { timestamp });
  }

  setAdv(symbol: string, adv: string): void {
    this.update(symbol, { adv: positive(adv, `ADV of ${symbol}`), noAdv: false });
  }

  /** The symbol has no price and no ADV (both answer null). */
  setNoData(symbol: string, what: { price?: boolean; adv?: boolean } = { price: true, adv: true }): void {
    this.update(symbol, { noPrice: what.price ?? false, noAdv: what.adv ?? false });
  }

  /** Forgets the settings of one symbol, or of all. */
  clear(symbol?: string): void {
    if (symbol === undefined) this.overrides.clear();
    else this.overrides.delete(symbol);
    this.notify(symbol);
  }

  /** Called with the symbol whose data a test changed (undefined: every symbol). */
  onChange(listener: (symbol: string | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private update(symbol: string, patch: SymbolOverride): void {
    this.overrides.set(symbol, { ...this.overrides.get(symbol), ...patch });
    this.notify(symbol);
  }

  private notify(symbol: string | undefined): void {
    for (const listener of this.listeners) listener(symbol);
  }
}
