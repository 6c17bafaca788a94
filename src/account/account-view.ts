/**
 * The account as GET /api/v1/account answers it (docs/api.md#account): the
 * broker's figures as normalized decimal strings, and when they were read.
 * Pure: no Nest, no I/O.
 */
import type { BrokerAccount } from '../broker/broker-client.port';
import { Decimal } from '../common/decimal';

export interface AccountView {
  equity: string;
  cash: string;
  buying_power: string;
  /** ≥ 0; null when the broker does not report it. */
  long_market_value: string | null;
  /** ≤ 0 (Alpaca's sign); null when the broker does not report it. */
  short_market_value: string | null;
  currency: string;
  trading_blocked: boolean;
  /** When the broker was read (the answer is cached for ACCOUNT_CACHE_TTL_MS). */
  as_of: string;
}

const normal = (d: string): string => new Decimal(d).toFixed();
const normalOrNull = (d: string | null): string | null => (d === null ? null : normal(d));

export function toAccountView(a: BrokerAccount, readAt: Date): AccountView {
  return {
    equity: normal(a.equity),
    cash: normal(a.cash),
    buying_power: normal(a.buyingPower),
    long_market_value: normalOrNull(a.longMarketValue),
    short_market_value: normalOrNull(a.shortMarketValue),
    currency: a.currency,
    trading_blocked: a.tradingBlocked,
    as_of: readAt.toISOString(),
  };
}
