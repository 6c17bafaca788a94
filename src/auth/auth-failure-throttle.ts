import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Clock } from '../infra/clock/clock';
import { StateStore } from '../infra/state/state-store';

/** By design, like the order rate limits: misses are counted per minute. */
export const AUTH_FAILURE_WINDOW_MS = 60_000;

export type AuthThrottleDecision =
  { outcome: 'open' } | { outcome: 'throttled'; limit: number; retryAfterSeconds: number };

export const authFailureKey = (address: string) => `authfail:${address}`;
export const authBlockKey = (address: string) => `authfail:block:${address}`;

/**
 * Failed authentications per client address (docs/security.md#authentication-throttling):
 * a sliding window of misses in the state store, shared by every replica
 * through Redis. When a miss finds the window full, the address is blocked
 * until the oldest miss leaves the window; while blocked, every request from
 * it that presents a key is refused before the key is looked up, so guessing
 * keys costs a minute per AUTH_FAILURE_RATE_LIMIT guesses.
 *
 * When the store cannot be reached the throttle steps aside (logged): refusing
 * every authentication would lock the operators out too, kill switch included,
 * and a key is 32 random bytes, so the throttle is a brake, not the lock.
 */
@Injectable()
export class AuthFailureThrottle {
  private readonly logger = new Logger('AuthThrottle');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: StateStore,
    private readonly clock: Clock,
  ) {}

  get limit(): number {
    return this.config.authFailuresPerMinute;
  }

  /** Before a lookup: is the address blocked? */
  async check(address: string): Promise<AuthThrottleDecision> {
    try {
      const until = Number(await this.store.get(authBlockKey(address)));
      const now = this.clock.now().getTime();
      return until > now ? this.throttled(until - now) : { outcome: 'open' };
    } catch (err) {
      this.logger.warn(`authentication throttle unavailable, not applied: ${(err as Error).message}`);
      return { outcome: 'open' };
    }
  }

  /** After a miss: counts it; over the limit, blocks the address until a slot frees up. */
  async recordFailure(address: string): Promise<AuthThrottleDecision> {
    try {
      const now = this.clock.now().getTime();
      const hit = await this.store.slidingWindowHit(authFailureKey(address), this.limit, AUTH_FAILURE_WINDOW_MS, now);
      if (hit.allowed) return { outcome: 'open' };
      const waitMs = Math.max(1, hit.retryAfterMs);
      await this.store.set(authBlockKey(address), String(now + waitMs), waitMs);
      this.logger.warn(`authentication throttled for ${address}: ${this.limit} failed attempts within a minute`);
      return this.throttled(waitMs);
    } catch (err) {
      this.logger.warn(`authentication throttle unavailable, miss not counted: ${(err as Error).message}`);
      return { outcome: 'open' };
    }
  }

  private throttled(waitMs: number): AuthThrottleDecision {
    return { outcome: 'throttled', limit: this.limit, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}
