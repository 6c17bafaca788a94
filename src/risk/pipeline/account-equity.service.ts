import { Inject, Injectable, Logger } from '@nestjs/common';
import { BROKER_CLIENT, BrokerClient } from '../../broker/broker-client.port';
import { BrokerPacer } from '../../broker/pacing/broker-pacer';
import { Clock } from '../../infra/clock/clock';

/** How long one reading of the account serves. */
export const EQUITY_TTL_MS = 5_000;
/** How long a reading stays usable while the broker cannot be reached; past it, equity is unknown (fail closed). */
export const EQUITY_MAX_AGE_MS = 30_000;

/**
 * The account's equity for the position-as-share-of-equity limit, read from
 * the broker and cached: one request at a time, refreshed every 5 s, and
 * given up (null) once no reading is younger than 30 s.
 */
@Injectable()
export class AccountEquityService {
  private readonly logger = new Logger('AccountEquity');
  private value: { equity: string; at: number } | null = null;
  private inflight?: Promise<void>;

  constructor(
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly clock: Clock,
    private readonly pacer: BrokerPacer,
  ) {}

  async equity(): Promise<string | null> {
    const now = this.clock.now().getTime();
    if (!this.value || now - this.value.at >= EQUITY_TTL_MS) await this.refresh();
    if (!this.value || this.clock.now().getTime() - this.value.at > EQUITY_MAX_AGE_MS) return null;
    return this.value.equity;
  }

  private refresh(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        // Order entry waits on this read: it goes with the cancels, ahead of a backlog (docs/broker-pacing.md).
        const account = await this.pacer.as('cancel', () => this.broker.getAccount());
        this.value = { equity: account.equity, at: this.clock.now().getTime() };
      } catch (err) {
        this.logger.warn(`account equity cannot be read: ${(err as Error).message}`);
      }
    })().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }
}
