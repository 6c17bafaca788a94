import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { StateStore } from '../../infra/state/state-store';

/** The endpoint classes with their own budget per API key (docs/risk-and-safety.md#rate-limits). */
export type RateLimitClass = 'submit' | 'slice' | 'cancel';

/** By design: the limits are per minute (docs/risk-and-safety.md#rate-limits). */
export const RATE_LIMIT_WINDOW_MS = 60_000;

export type RateLimitDecision =
  | { outcome: 'allowed' }
  | { outcome: 'limited'; limit: number; retryAfterSeconds: number }
  /** The store could not be asked. The caller decides: submits fail closed, cancels pass. */
  | { outcome: 'unavailable'; error: Error };

export function rateLimitKey(cls: RateLimitClass, keyId: string): string {
  return `ratelimit:${cls}:${keyId}`;
}

/** Whole seconds, rounded up, at least 1 (a Retry-After of 0 invites an immediate retry that fails again). */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

/**
 * Sliding-window rate limits per API key and endpoint class, kept in the
 * state store so replicas sharing Redis share the budget. A refused request
 * does not consume the budget.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(StateStore) private readonly store: StateStore,
    private readonly clock: Clock,
  ) {}

  limitOf(cls: RateLimitClass): number {
    const l = this.config.rateLimits;
    return cls === 'submit' ? l.submitPerMinute : cls === 'slice' ? l.slicePerMinute : l.cancelPerMinute;
  }

  async hit(
    cls: RateLimitClass,
    keyId: string,
    nowMs: number = this.clock.now().getTime(),
  ): Promise<RateLimitDecision> {
    const limit = this.limitOf(cls);
    try {
      const r = await this.store.slidingWindowHit(rateLimitKey(cls, keyId), limit, RATE_LIMIT_WINDOW_MS, nowMs);
      return r.allowed
        ? { outcome: 'allowed' }
        : { outcome: 'limited', limit, retryAfterSeconds: retryAfterSeconds(r.retryAfterMs) };
    } catch (err) {
      return { outcome: 'unavailable', error: err instanceof Error ? err : new Error(String(err)) };
    }
  }
}
