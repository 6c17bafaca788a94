import fc from 'fast-check';
import { ManualClock } from '../infra/clock/clock';
import { CachedMarketDataProvider } from './cached-market-data.provider';
import {
  MarketDataUnavailableError,
  type AverageDailyVolume,
  type MarketDataProvider,
  type PriceObservation,
} from './market-data.port';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An inner provider whose answers a test scripts, counting calls per symbol. */
class ScriptedProvider implements MarketDataProvider {
  priceCalls = 0;
  advCalls = 0;
  price: (symbol: string) => Promise<PriceObservation | null>;
  adv: (symbol: string) => Promise<AverageDailyVolume | null>;

  constructor(private readonly clock: ManualClock) {
    this.price = (symbol) =>
      Promise.resolve({ symbol, price: String(99 + this.priceCalls), timestamp: this.clock.now(), source: 'sim' });
    this.adv = (symbol) => Promise.resolve({ symbol, adv: String(999 + this.advCalls), days: 20, asOf: NOW });
  }

  latestPrice(symbol: string): Promise<PriceObservation | null> {
    this.priceCalls += 1;
    return this.price(symbol);
  }

  averageDailyVolume(symbol: string): Promise<AverageDailyVolume | null> {
    this.advCalls += 1;
    return this.adv(symbol);
  }
}

const NOW = new Date('2026-01-02T15:00:00.000Z');
const PRICE_TTL = 1000;
const ADV_TTL = 3_600_000;

function setup(opts: { priceTtlMs?: number; advTtlMs?: number; maxEntries?: number } = {}) {
  const clock = new ManualClock(NOW);
  const inner = new ScriptedProvider(clock);
  const cached = new CachedMarketDataProvider(inner, clock, {
    priceTtlMs: opts.priceTtlMs ?? PRICE_TTL,
    advTtlMs: opts.advTtlMs ?? ADV_TTL,
    maxEntries: opts.maxEntries,
  });
  return { clock, inner, cached };
}

describe('CachedMarketDataProvider', () => {
  describe('TTLs', () => {
    it('serves a price from the cache within the price TTL, and asks again after it', async () => {
      const { clock, inner, cached } = setup();
      const first = await cached.latestPrice('AAPL');
      clock.advance(PRICE_TTL - 1);
      expect(await cached.latestPrice('AAPL')).toEqual(first);
      expect(inner.priceCalls).toBe(1);
      clock.advance(1);
      expect((await cached.latestPrice('AAPL'))?.price).toBe('101');
      expect(inner.priceCalls).toBe(2);
    });

    it("keeps the exchange's timestamp: a cached price ages", async () => {
      const { clock, cached } = setup();
      const first = await cached.latestPrice('AAPL');
      clock.advance(500);
      const again = await cached.latestPrice('AAPL');
      expect(again?.timestamp).toEqual(first?.timestamp);
      expect(clock.now().getTime() - again!.timestamp.getTime()).toBe(500);
    });

    it('caches per symbol', async () => {
      const { inner, cached } = setup();
      await cached.latestPrice('AAPL');
      await cached.latestPrice('MSFT');
      await cached.latestPrice('AAPL');
      expect(inner.priceCalls).toBe(2);
    });

    it('serves an ADV for the ADV TTL, independently of prices', async () => {
      const { clock, inner, cached } = setup();
      await cached.averageDailyVolume('AAPL');
      clock.advance(ADV_TTL - 1);
      await cached.averageDailyVolume('AAPL');
      expect(inner.advCalls).toBe(1);
      clock.advance(1);
      expect((await cached.averageDailyVolume('AAPL'))?.adv).toBe('1001');
      expect(inner.advCalls).toBe(2);
    });

    it('TTL 0 caches nothing', async () => {
      const { inner, cached } = setup({ priceTtlMs: 0, advTtlMs: 0 });
      await cached.latestPrice('AAPL');
      await cached.latestPrice('AAPL');
      await cached.averageDailyVolume('AAPL');
      await cached.averageDailyVolume('AAPL');
      expect(inner.priceCalls).toBe(2);
      expect(inner.advCalls).toBe(2);
    });

    it('measures the TTL from when the answer arrived', async () => {
      const { clock, inner, cached } = setup();
      const d = deferred<PriceObservation | null>();
      inner.price = () => d.promise;
      const p = cached.latestPrice('AAPL');
      clock.advance(5000); // a slow answer
      d.resolve({ symbol: 'AAPL', price: '1', timestamp: NOW, source: 'sim' });
      await p;
      clock.advance(PRICE_TTL - 1);
      await cached.latestPrice('AAPL');
      expect(inner.priceCalls).toBe(1);
    });

    it('hands out copies: a caller mutating its answer does not change the cache', async () => {
      const { cached } = setup();
      const first = await cached.latestPrice('AAPL');
      first!.timestamp.setTime(0);
      first!.price = 'garbage';
      const again = await cached.latestPrice('AAPL');
      expect(again?.timestamp).toEqual(NOW);
      expect(again?.price).toBe('100');
    });

    it('the model: the inner provider is asked exactly when the last answer is older than the TTL', () => {
      return fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 2500 }), { maxLength: 40 }), async (steps) => {
          const { clock, inner, cached } = setup();
          let expectedCalls = 0;
          let fetchedAt: number | undefined;
          for (const step of steps) {
            clock.advance(step);
            const now = clock.now().getTime();
            if (fetchedAt === undefined || now >= fetchedAt + PRICE_TTL) {
              expectedCalls += 1;
              fetchedAt = now;
            }
            await cached.latestPrice('AAPL');
            expect(inner.priceCalls).toBe(expectedCalls);
          }
        }),
      );
    });
  });

  describe('nulls and errors', () => {
    it('keeps a null price for the price TTL only', async () => {
      const { clock, inner, cached } = setup();
      inner.price = () => Promise.resolve(null);
      expect(await cached.latestPrice('NEW')).toBeNull();
      expect(await cached.latestPrice('NEW')).toBeNull();
      expect(inner.priceCalls).toBe(1);
      clock.advance(PRICE_TTL);
      inner.price = (symbol) => Promise.resolve({ symbol, price: '5', timestamp: NOW, source: 'sim' });
      expect((await cached.latestPrice('NEW'))?.price).toBe('5');
    });

    it('keeps a null ADV for at most the price TTL, not the ADV TTL', async () => {
      const { clock, inner, cached } = setup();
      inner.adv = () => Promise.resolve(null);
      await cached.averageDailyVolume('NEW');
      clock.advance(PRICE_TTL - 1);
      await cached.averageDailyVolume('NEW');
      expect(inner.advCalls).toBe(1);
      clock.advance(1);
      await cached.averageDailyVolume('NEW');
      expect(inner.advCalls).toBe(2);
    });

    it('never caches an error: the next lookup asks again', async () => {
      const { inner, cached } = setup();
      inner.price = () => Promise.reject(new MarketDataUnavailableError('down'));
      await expect(cached.latestPrice('AAPL')).rejects.toBeInstanceOf(MarketDataUnavailableError);
      inner.price = (symbol) => Promise.resolve({ symbol, price: '7', timestamp: NOW, source: 'sim' });
      expect((await cached.latestPrice('AAPL'))?.price).toBe('7');
      expect(inner.priceCalls).toBe(2);
    });

    it('a synchronous throw of the inner provider is not cached either', async () => {
      const { inner, cached } = setup();
      inner.price = () => {
        throw new Error('sync');
      };
      await expect(cached.latestPrice('AAPL')).rejects.toThrow('sync');
      inner.price = (symbol) => Promise.resolve({ symbol, price: '8', timestamp: NOW, source: 'sim' });
      expect((await cached.latestPrice('AAPL'))?.price).toBe('8');
    });
  });

  describe('single flight', () => {
    it('concurrent lookups of one symbol share one request', async () => {
      const { inner, cached } = setup();
      const d = deferred<PriceObservation | null>();
      inner.price = () => d.promise;
      const lookups = Array.from({ length: 10 }, () => cached.latestPrice('AAPL'));
      expect(inner.priceCalls).toBe(1);
      d.resolve({ symbol: 'AAPL', price: '150.25', timestamp: NOW, source: 'sim' });
      const answers = await Promise.all(lookups);
      expect(answers.map((a) => a?.price)).toEqual(Array(10).fill('150.25'));
      expect(inner.priceCalls).toBe(1);
    });

    it('shares a failure too, then asks afresh', async () => {
      const { inner, cached } = setup();
      const d = deferred<PriceObservation | null>();
      inner.price = () => d.promise;
      const lookups = [cached.latestPrice('AAPL'), cached.latestPrice('AAPL')];
      d.reject(new MarketDataUnavailableError('timeout'));
      for (const l of lookups) await expect(l).rejects.toThrow('timeout');
      expect(inner.priceCalls).toBe(1);
      inner.price = (symbol) => Promise.resolve({ symbol, price: '1', timestamp: NOW, source: 'sim' });
      await cached.latestPrice('AAPL');
      expect(inner.priceCalls).toBe(2);
    });

    it('single flight holds with TTL 0 as well', async () => {
      const { inner, cached } = setup({ priceTtlMs: 0 });
      const d = deferred<PriceObservation | null>();
      inner.price = () => d.promise;
      const lookups = [cached.latestPrice('AAPL'), cached.latestPrice('AAPL')];
      d.resolve(null);
      await Promise.all(lookups);
      expect(inner.priceCalls).toBe(1);
    });

    it('different symbols fly separately; prices and ADV fly separately', async () => {
      const { inner, cached } = setup();
      await Promise.all([cached.latestPrice('A'), cached.latestPrice('B'), cached.averageDailyVolume('A')]);
      expect(inner.priceCalls).toBe(2);
      expect(inner.advCalls).toBe(1);
    });
  });

  describe('invalidate', () => {
    it('drops a cached symbol', async () => {
      const { inner, cached } = setup();
      await cached.latestPrice('AAPL');
      await cached.latestPrice('MSFT');
      cached.invalidate('AAPL');
      await cached.latestPrice('AAPL');
      await cached.latestPrice('MSFT');
      expect(inner.priceCalls).toBe(3);
    });

    it('an answer in flight when invalidated is neither shared with later callers nor cached', async () => {
      const { inner, cached } = setup();
      const old = deferred<PriceObservation | null>();
      inner.price = () => old.promise;
      const before = cached.latestPrice('AAPL');
      cached.invalidate();
      inner.price = (symbol) => Promise.resolve({ symbol, price: 'new', timestamp: NOW, source: 'sim' });
      const after = cached.latestPrice('AAPL');
      old.resolve({ symbol: 'AAPL', price: 'old', timestamp: NOW, source: 'sim' });
      expect((await before)?.price).toBe('old');
      expect((await after)?.price).toBe('new');
      expect((await cached.latestPrice('AAPL'))?.price).toBe('new');
      expect(inner.priceCalls).toBe(2);
    });
  });

  it('bounds the number of cached symbols', async () => {
    const { inner, cached } = setup({ maxEntries: 2 });
    await cached.latestPrice('A');
    await cached.latestPrice('B');
    await cached.latestPrice('C'); // evicts A, the oldest
    await cached.latestPrice('C');
    await cached.latestPrice('B');
    expect(inner.priceCalls).toBe(3);
    await cached.latestPrice('A');
    expect(inner.priceCalls).toBe(4);
  });

  describe('latestPrices', () => {
    it('answers fresh cached symbols from the cache, looks up only the others, once per symbol', async () => {
      const { clock, inner, cached } = setup();
      await cached.latestPrice('AAPL');
      clock.advance(PRICE_TTL - 1);
      const prices = await cached.latestPrices(['AAPL', 'MSFT', 'MSFT', 'TSLA']);
      expect(inner.priceCalls).toBe(3);
      expect([...prices.keys()].sort()).toEqual(['AAPL', 'MSFT', 'TSLA']);
      expect(prices.get('AAPL')?.price).toBe('100');
      clock.advance(1);
      const again = await cached.latestPrices(['AAPL', 'MSFT']);
      expect(inner.priceCalls).toBe(4); // AAPL expired; MSFT still fresh
      expect(again.get('AAPL')?.price).toBe('103');
    });

    it('null is "no data"; a failed symbol is absent and not cached; copies are handed out', async () => {
      const { inner, cached } = setup();
      inner.price = (symbol) =>
        symbol === 'DOWN'
          ? Promise.reject(new MarketDataUnavailableError('down'))
          : symbol === 'NONE'
            ? Promise.resolve(null)
            : Promise.resolve({ symbol, price: '5', timestamp: NOW, source: 'sim' });
      const prices = await cached.latestPrices(['DOWN', 'NONE', 'OK']);
      expect(prices.has('DOWN')).toBe(false);
      expect(prices.get('NONE')).toBeNull();
      prices.get('OK')!.timestamp.setTime(0);
      const again = await cached.latestPrices(['DOWN', 'OK']);
      expect(inner.priceCalls).toBe(4); // DOWN asked again, OK from the cache
      expect(again.get('OK')?.timestamp).toEqual(NOW);
    });
  });

  it('refuses a negative TTL', () => {
    const clock = new ManualClock(NOW);
    expect(
      () => new CachedMarketDataProvider(new ScriptedProvider(clock), clock, { priceTtlMs: -1, advTtlMs: 0 }),
    ).toThrow(RangeError);
  });
});
