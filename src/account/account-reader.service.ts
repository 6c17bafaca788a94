import { Inject, Injectable, Logger } from '@nestjs/common';
import { BROKER_CLIENT, BrokerClient } from '../broker/broker-client.port';
import { DomainError } from '../common/domain-error';
import { Clock } from '../infra/clock/clock';
import { AccountView, toAccountView } from './account-view';

/** How long one reading of the broker account answers GET /api/v1/account. */
export const ACCOUNT_CACHE_TTL_MS = 2_000;

/**
 * Reads the broker account for GET /api/v1/account, briefly cached so a
 * dashboard polling it does not turn into a stream of broker calls: one
 * reading serves for ACCOUNT_CACHE_TTL_MS, and callers arriving while a
 * reading is under way share it. A failed reading is not cached: the caller
 * gets 503 BROKER_UNAVAILABLE and the next one asks the broker again.
 */
@Injectable()
export class AccountReader {
  private readonly logger = new Logger('Account');
  private cached: { view: AccountView; at: number } | null = null;
  private inflight?: Promise<AccountView>;

  constructor(
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly clock: Clock,
  ) {}

  async current(): Promise<AccountView> {
    const now = this.clock.now().getTime();
    if (this.cached && now - this.cached.at < ACCOUNT_CACHE_TTL_MS) return this.cached.view;
    this.inflight ??= this.read().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async read(): Promise<AccountView> {
    let account;
    try {
      account = await this.broker.getAccount();
    } catch (err) {
      this.logger.warn(`broker account cannot be read: ${(err as Error).message}`);
      throw new DomainError('unavailable', 'BROKER_UNAVAILABLE', 'The broker account cannot be read right now');
    }
    const at = this.clock.now();
    const view = toAccountView(account, at);
    this.cached = { view, at: at.getTime() };
    return view;
  }
}
