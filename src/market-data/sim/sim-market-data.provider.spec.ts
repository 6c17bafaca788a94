import { SimBrokerClient } from '../../broker/sim/sim-broker.client';
import { ManualClock } from '../../infra/clock/clock';
import { SIM_DEFAULT_ADV, SimMarketDataProvider } from './sim-market-data.provider';

const NOW = new Date('2026-01-02T15:00:00.000Z');

describe('SimMarketDataProvider', () => {
  it('prices like the sim exchange (its reference price), stamped with the clock', async () => {
    const clock = new ManualClock(NOW);
    const broker = new SimBrokerClient({ clock, referencePrices: { AAPL: '187.25' }, defaultPrice: '42' });
    const md = new SimMarketDataProvider({ clock, priceSource: broker });
    expect(await md.latestPrice('AAPL')).toEqual({ symbol: 'AAPL', price: '187.25', timestamp: NOW, source: 'sim' });
    expect((await md.latestPrice('ZZZ'))?.price).toBe('42');
    broker.setPrice('AAPL', '190.5');
    expect((await md.latestPrice('AAPL'))?.price).toBe('190.5');
  });

  it("a market order fills at the price the sim's market data reported", async () => {
    const clock = new ManualClock(NOW);
    const broker = new SimBrokerClient({ clock, referencePrices: { MSFT: '411.37' } });
    const md = new SimMarketDataProvider({ clock, priceSource: broker });
    const quoted = await md.latestPrice('MSFT');
    await broker.submitOrder({
      clientOrderId: 'c1',
      symbol: 'MSFT',
      side: 'buy',
      type: 'market',
      timeInForce: 'day',
      qty: '1',
      limitPrice: null,
      stopPrice: null,
    });
    let order = await broker.getOrderByClientOrderId('c1');
    for (let i = 0; i < 100 && order?.status !== 'filled'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      order = await broker.getOrderByClientOrderId('c1');
    }
    expect(order?.status).toBe('filled');
    expect(order?.filledAvgPrice).toBe(quoted?.price);
  });

  it('is always fresh under a ManualClock', async () => {
    const clock = new ManualClock(NOW);
    const md = new SimMarketDataProvider({ clock });
    clock.advance(3_600_000);
    expect((await md.latestPrice('AAPL'))?.timestamp).toEqual(new Date(NOW.getTime() + 3_600_000));
  });

  it("without a source, uses its own reference prices and the sim broker's default (100)", async () => {
    const md = new SimMarketDataProvider({ clock: new ManualClock(NOW), referencePrices: { AAPL: '150.50' } });
    expect((await md.latestPrice('AAPL'))?.price).toBe('150.5');
    expect((await md.latestPrice('X'))?.price).toBe('100');
  });

  it('has a large deterministic ADV', async () => {
    const md = new SimMarketDataProvider({ clock: new ManualClock(NOW), advDays: 20 });
    expect(await md.averageDailyVolume('AAPL')).toEqual({ symbol: 'AAPL', adv: SIM_DEFAULT_ADV, days: 20, asOf: NOW });
  });

  it('lets a test pin price, timestamp and ADV, or take the data away', async () => {
    const clock = new ManualClock(NOW);
    const broker = new SimBrokerClient({ clock });
    const md = new SimMarketDataProvider({ clock, priceSource: broker });
    md.setPrice('AAPL', '10.10');
    md.setTimestamp('AAPL', '2026-01-02T14:00:00Z');
    md.setAdv('AAPL', '1234');
    expect(await md.latestPrice('AAPL')).toMatchObject({
      price: '10.1',
      timestamp: new Date('2026-01-02T14:00:00Z'),
    });
    expect((await md.averageDailyVolume('AAPL'))?.adv).toBe('1234');

    md.setNoData('AAPL');
    expect(await md.latestPrice('AAPL')).toBeNull();
    expect(await md.averageDailyVolume('AAPL')).toBeNull();

    md.setNoData('MSFT', { adv: true });
    expect(await md.latestPrice('MSFT')).not.toBeNull();
    expect(await md.averageDailyVolume('MSFT')).toBeNull();

    md.clear('AAPL');
    expect((await md.latestPrice('AAPL'))?.price).toBe('100');
    expect((await md.latestPrice('AAPL'))?.timestamp).toEqual(NOW);
  });

  it('announces test settings to listeners', () => {
    const md = new SimMarketDataProvider({ clock: new ManualClock(NOW) });
    const seen: Array<string | undefined> = [];
    const off = md.onChange((s) => seen.push(s));
    md.setPrice('A', '1');
    md.setAdv('B', '2');
    md.clear();
    off();
    md.setPrice('C', '3');
    expect(seen).toEqual(['A', 'B', undefined]);
  });

  it.each(['0', '-1', 'abc', ''])('refuses price %p', (bad) => {
    const md = new SimMarketDataProvider({ clock: new ManualClock(NOW) });
    expect(() => md.setPrice('A', bad)).toThrow(RangeError);
    expect(() => md.setAdv('A', bad)).toThrow(RangeError);
  });
});
