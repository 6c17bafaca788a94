/**
 * Caching decorator of a MarketDataProvider: what the rest of the gateway gets
 * under MARKET_DATA.
 *
 * Invariants:
 * - a price is served from the cache for at most `priceTtlMs`, an ADV for at
 *   most `advTtlMs` (measured on the injected clock from when the answer came);
 * - a null ("no data") is kept for at most the price TTL, also for ADV, so a
 *   symbol that starts trading is seen soon;
 * - an error is never cached: the next lookup asks again;
 * - concurrent lookups of one symbol share one request (single flight),
 *   including its error;
 * - after invalidate(), no lookup is answered from what was cached or in
 *   flight before it.
 * The cache never changes an observation: a cached price keeps the exchange's
 * timestamp, so its age keeps growing and a staleness check still sees it.
 */
import type { Clock } from '../infra/clock/clock';
import type { AverageDailyVolume, MarketDataProvider, PriceObservation } from './market-data.port';

export interface MarketDataCacheOptions {
  /** MARKET_DATA_PRICE_CACHE_MS; 0 disables caching (single flight stays). */
  priceTtlMs: number;
  /** MARKET_DATA_ADV_CACHE_SECONDS × 1000. */
  advTtlMs: number;
  /** Bound on cached symbols per kind; expired entries go first, then the oldest. Default 10,000. */
  maxEntries?: number;
}

interface Entry<T> {
  value: T | null;
  expiresAt: number;
}

interface Flight<T> {
  promise: Promise<T | null>;
  token: string;
}

/** A TTL cache with single flight, keyed by symbol. Exported for tests. */
export class SingleFlightCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly flights = new Map<string, Flight<T>>();
  /** Bumped by invalidate(): a flight started before it neither serves new callers nor fills the cache. */
  private epoch = 0;
  private readonly keyEpochs = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly nullTtlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const now = this.clock.now().getTime();
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      if (now < cached.expiresAt) return Promise.resolve(cached.value);
      this.entries.delete(key);
    }
    const token = this.tokenOf(key);
    const flight = this.flights.get(key);
    if (flight !== undefined && flight.token === token) return flight.promise;

    // In the map before load() starts, so even a synchronous failure clears it again.
    const started: Flight<T> = { token, promise: Promise.resolve(null) };
    this.flights.set(key, started);
    started.promise = this.fly(key, started, load);
    return started.promise;
  }

  private async fly(key: string, flight: Flight<T>, load: () => Promise<T | null>): Promise<T | null> {
    try {
      const value = await load();
      if (this.tokenOf(key) === flight.token) this.store(key, value);
      return value;
    } finally {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    }
  }

  /** The cached value of `key` when it is still fresh; undefined when a lookup is needed. */
  peek(key: string): { value: T | null } | undefined {
    const cached = this.entries.get(key);
    return cached !== undefined && this.clock.now().getTime() < cached.expiresAt ? { value: cached.value } : undefined;
  }

  invalidate(key?: string): void {
    if (key === undefined) {
      this.epoch += 1;
      this.keyEpochs.clear();
      this.entries.clear();
      this.flights.clear();
      return;
    }
    this.keyEpochs.set(key, (this.keyEpochs.get(key) ?? 0) + 1);
    this.entries.delete(key);
    this.flights.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private tokenOf(key: string): string {
    return `${this.epoch}:${this.keyEpochs.get(key) ?? 0}`;
  }

  private store(key: string, value: T | null): void {
    const ttl = value === null ? Math.min(this.ttlMs, this.nullTtlMs) : this.ttlMs;
    if (ttl <= 0) return;
    // Stamped when the answer arrived: a slow request does not shorten its own TTL.
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.clock.now().getTime() + ttl });
    if (this.entries.size > this.maxEntries) this.evict();
  }

  private evict(): void {
    const now = this.clock.now().getTime();
    for (const [k, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(k);
    // Map iteration is insertion order, and store() re-inserts: the first keys are the oldest.
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
    }
  }
}

export class CachedMarketDataProvider implements MarketDataProvider {
  private readonly prices: SingleFlightCache<PriceObservation>;
  private readonly advs: SingleFlightCache<AverageDailyVolume>;

  constructor(
    readonly inner: MarketDataProvider,
    clock: Clock,
    options: MarketDataCacheOptions,
  ) {
    for (const [name, v] of [
      ['priceTtlMs', options.priceTtlMs],
      ['advTtlMs', options.advTtlMs],
    ] as const) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a non-negative number, got ${v}`);
    }
    const maxEntries = options.maxEntries ?? 10_000;
    this.prices = new SingleFlightCache(clock, options.priceTtlMs, options.priceTtlMs, maxEntries);
    this.advs = new SingleFlightCache(clock, options.advTtlMs, options.priceTtlMs, maxEntries);
  }

  async latestPrice(symbol: string): Promise<PriceObservation | null> {
    const p = await this.prices.get(symbol, () => this.inner.latestPrice(symbol));
    // A copy: callers share the cached object, and a Date is mutable.
    return p && { ...p, timestamp: new Date(p.timestamp.getTime()) };
  }

  /**
   * The latest price of each of `symbols`: fresh cached answers at once, the
   * others looked up in parallel (each with latestPrice's single flight). A
   * symbol whose lookup failed is absent from the map; null is "no data".
   */
  async latestPrices(symbols: readonly string[]): Promise<Map<string, PriceObservation | null>> {
    const out = new Map<string, PriceObservation | null>();
    const misses: string[] = [];
    for (const s of new Set(symbols)) {
      const hit = this.prices.peek(s);
      if (hit === undefined) misses.push(s);
      else out.set(s, hit.value && { ...hit.value, timestamp: new Date(hit.value.timestamp.getTime()) });
    }
    await Promise.all(
      misses.map((s) =>
        this.latestPrice(s).then(
          (p) => void out.set(s, p),
          () => undefined,
        ),
      ),
    );
    return out;
  }

  async averageDailyVolume(symbol: string): Promise<AverageDailyVolume | null> {
    const a = await this.advs.get(symbol, () => this.inner.averageDailyVolume(symbol));
    return a && { ...a, asOf: new Date(a.asOf.getTime()) };
  }

  /** Drops what is cached (and in flight) for one symbol, or for all. */
  invalidate(symbol?: string): void {
    this.prices.invalidate(symbol);
    this.advs.invalidate(symbol);
  }
}
