/**
 * The per-symbol lock of the position controls (docs/operator-controls.md):
 * a close, adjust or flatten of one symbol reads the position and its open
 * orders, decides and sends while holding it, so two of them at once never
 * send more than the position. Shared by every replica through the state store.
 *
 * Invariants:
 * - at most one holder per symbol while the lock lives; it lives at most
 *   REDUCE_ONLY_LOCK_TIMEOUT_SECONDS, so a holder that dies frees it;
 * - a second caller waits for it up to REDUCE_ONLY_LOCK_BLOCKING_SECONDS,
 *   then gets 409 POSITION_BUSY; a store that cannot be reached is 503
 *   SAFETY_STATE_UNAVAILABLE (no close without the lock);
 * - a holder releases only its own lock (its token), never a successor's.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { ConflictError, DomainError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { Scheduler } from '../infra/clock/scheduler';
import { StateStore } from '../infra/state/state-store';

const RETRY_EVERY_MS = 50;

@Injectable()
export class ReduceOnlyLock {
  private readonly logger = new Logger('ReduceOnlyLock');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(StateStore) private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
  ) {}

  /** Runs `work` holding the lock of `symbol`. */
  async withLock<T>(symbol: string, work: () => Promise<T>): Promise<T> {
    const key = `reduce-only-lock:${symbol}`;
    const token = randomBytes(12).toString('hex');
    const { timeoutSeconds, blockingSeconds } = this.config.reduceOnlyLock;
    const deadline = this.clock.now().getTime() + blockingSeconds * 1_000;
    for (;;) {
      let taken: boolean;
      try {
        taken = await this.store.setIfAbsent(key, token, timeoutSeconds * 1_000);
      } catch (err) {
        throw new DomainError(
          'unavailable',
          'SAFETY_STATE_UNAVAILABLE',
          `The position lock of ${symbol} cannot be taken (state store unavailable); nothing was sent`,
          { symbol, error: (err as Error).message },
        );
      }
      if (taken) break;
      if (this.clock.now().getTime() >= deadline) {
        throw new ConflictError(
          'POSITION_BUSY',
          `Another close, adjust or flatten of ${symbol} is under way; try again in a moment`,
          { symbol, waited_seconds: blockingSeconds },
        );
      }
      await this.scheduler.sleep(RETRY_EVERY_MS);
    }
    try {
      return await work();
    } finally {
      await this.release(key, token);
    }
  }

  private async release(key: string, token: string): Promise<void> {
    try {
      // Only our own: a lock that outlived its timeout may belong to the next holder now.
      if ((await this.store.get(key)) === token) await this.store.del(key);
    } catch (err) {
      this.logger.warn(`cannot release ${key} (it expires by itself): ${(err as Error).message}`);
    }
  }
}
