import type { BrokerAccount, BrokerClient } from '../broker/broker-client.port';
import { DomainError } from '../common/domain-error';
import { ManualClock } from '../infra/clock/clock';
import { ACCOUNT_CACHE_TTL_MS, AccountReader } from './account-reader.service';
import { toAccountView } from './account-view';

function account(over: Partial<BrokerAccount> = {}): BrokerAccount {
  return {
    id: 'acc-1',
    status: 'ACTIVE',
    currency: 'USD',
    cash: '85200.50',
    equity: '100250.5000',
    buyingPower: '170401',
    lastEquity: '100000',
    longMarketValue: '16550.00',
    shortMarketValue: '-1500',
    tradingBlocked: false,
    ...over,
  };
}

function setup() {
  const clock = new ManualClock();
  const getAccount = jest.fn(async () => account());
  const reader = new AccountReader({ getAccount } as unknown as BrokerClient, clock);
  return { clock, getAccount, reader };
}

describe('toAccountView', () => {
  it('normalizes every amount to a decimal string and stamps the reading', () => {
    expect(toAccountView(account(), new Date('2026-01-02T15:00:00Z'))).toEqual({
      equity: '100250.5',
      cash: '85200.5',
      buying_power: '170401',
      long_market_value: '16550',
      short_market_value: '-1500',
      currency: 'USD',
      trading_blocked: false,
      as_of: '2026-01-02T15:00:00.000Z',
    });
  });

  it('keeps market values the broker does not report as null', () => {
    const v = toAccountView(account({ longMarketValue: null, shortMarketValue: null }), new Date());
    expect([v.long_market_value, v.short_market_value]).toEqual([null, null]);
  });
});

describe('AccountReader', () => {
  it(`serves one reading for ${ACCOUNT_CACHE_TTL_MS} ms, then reads again`, async () => {
    const { clock, getAccount, reader } = setup();
    const first = await reader.current();
    clock.advance(ACCOUNT_CACHE_TTL_MS - 1);
    expect(await reader.current()).toBe(first);
    expect(getAccount).toHaveBeenCalledTimes(1);
    clock.advance(1);
    getAccount.mockResolvedValueOnce(account({ cash: '1' }));
    expect((await reader.current()).cash).toBe('1');
    expect(getAccount).toHaveBeenCalledTimes(2);
  });

  it('callers arriving during a reading share it', async () => {
    const { getAccount, reader } = setup();
    const views = await Promise.all([reader.current(), reader.current(), reader.current()]);
    expect(getAccount).toHaveBeenCalledTimes(1);
    expect(new Set(views).size).toBe(1);
  });

  it('a failed reading is a 503 BROKER_UNAVAILABLE and is not cached', async () => {
    const { getAccount, reader } = setup();
    getAccount.mockRejectedValueOnce(new Error('connect ECONNREFUSED'));
    const err = await reader.current().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ kind: 'unavailable', code: 'BROKER_UNAVAILABLE' });
    expect((err as Error).message).not.toContain('ECONNREFUSED');
    await expect(reader.current()).resolves.toMatchObject({ equity: '100250.5' });
    expect(getAccount).toHaveBeenCalledTimes(2);
  });
});
