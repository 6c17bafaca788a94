import type { AuditRepository } from '../audit/audit.repository';
import { SimBrokerClient } from '../broker/sim/sim-broker.client';
import { DomainError, InputValidationError } from '../common/domain-error';
import { ManualClock } from '../infra/clock/clock';
import { CachedMarketDataProvider } from '../market-data/cached-market-data.provider';
import { SimMarketDataProvider } from '../market-data/sim/sim-market-data.provider';
import { SimPricesUseCase } from './sim-prices.use-case';

/** Market data as the app binds it with the sim: the sim exchange's prices behind a cache. */
function marketDataOf(sim: SimBrokerClient | null, clock = new ManualClock()) {
  const inner = new SimMarketDataProvider({ clock, priceSource: sim ?? undefined, advDays: 20 });
  return new CachedMarketDataProvider(inner, clock, { priceTtlMs: 60_000, advTtlMs: 60_000 });
}

function setup(sim: SimBrokerClient | null, marketData = marketDataOf(sim)) {
  const appended: unknown[] = [];
  const audit = { append: async (e: unknown) => void appended.push(e) } as unknown as AuditRepository;
  return { useCase: new SimPricesUseCase(sim, audit, marketData), appended, marketData };
}

describe('SimPricesUseCase', () => {
  it('a price set is what market data answers at once, not after the cache expires', async () => {
    const sim = new SimBrokerClient({ clock: new ManualClock(), referencePrices: { AAPL: '190.5' } });
    const { useCase, marketData } = setup(sim);
    expect((await marketData.latestPrice('AAPL'))?.price).toBe('190.5');
    await useCase.set({ symbol: 'AAPL', price: '180', operator: 'jane' }, { actor: 'k' });
    expect((await marketData.latestPrice('AAPL'))?.price).toBe('180');
  });

  it('is 404 SIMULATOR_NOT_ACTIVE when the broker is not the sim, and records nothing', async () => {
    const { useCase, appended } = setup(null);
    expect(() => useCase.list()).toThrow(DomainError);
    await expect(useCase.set({ symbol: 'AAPL', price: '1', operator: 'op' }, { actor: 'k' })).rejects.toMatchObject({
      kind: 'not_found',
      code: 'SIMULATOR_NOT_ACTIVE',
    });
    expect(appended).toEqual([]);
  });

  it('sets the normalized symbol, audits operator, key, previous and new price', async () => {
    const sim = new SimBrokerClient({ clock: new ManualClock(), referencePrices: { AAPL: '190.5' } });
    const { useCase, appended } = setup(sim);
    const out = await useCase.set(
      { symbol: ' aapl ', price: '191', operator: 'jane' },
      { actor: 'ops-key', requestId: 'r1' },
    );
    expect(out).toEqual({ symbol: 'AAPL', price: '191', step: 0 });
    expect(sim.referencePrice('AAPL')).toBe('191');
    expect(appended).toEqual([
      {
        action: 'sim.price_set',
        actor: 'jane',
        symbol: 'AAPL',
        requestId: 'r1',
        details: { api_key: 'ops-key', previous_price: '190.5', price: '191' },
      },
    ]);
    await expect(useCase.set({ symbol: 'A..B', price: '1', operator: 'j' }, { actor: 'k' })).rejects.toBeInstanceOf(
      InputValidationError,
    );
    expect(useCase.list()).toMatchObject({ defaultPrice: '100', prices: [{ symbol: 'AAPL', price: '191', step: 0 }] });
  });
});
