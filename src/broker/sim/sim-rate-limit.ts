/**
 * The sim's optional request budget (docs/simulator.md#rate-limit), off unless
 * configured: at most `perWindow` trading calls (commands and reports alike,
 * not the update stream) in any sliding window of one minute, as Alpaca counts
 * them. Above it a call is not acted on and fails as Alpaca's 429 does:
 * retryable, status 429, code 42910000, and a Retry-After in whole seconds
 * (when the oldest call in the window leaves it, at least one second).
 */
import type { BrokerError } from '../broker-client.port';
import { rateLimited } from './sim-errors';

export const SIM_RATE_LIMIT_WINDOW_MS = 60_000;

export class SimRateLimit {
  /** Times of the admitted calls, oldest first; those before `head` have left the window. */
  private admitted: number[] = [];
  private head = 0;
  private refusedCount = 0;
  private peak = 0;

  /** `perWindow` null: no limit (every call admitted, nothing counted). */
  constructor(
    readonly perWindow: number | null,
    readonly windowMs = SIM_RATE_LIMIT_WINDOW_MS,
  ) {}

  /** Calls refused so far. */
  get refused(): number {
    return this.refusedCount;
  }

  /** The most calls admitted within any one window so far. */
  get maxInWindow(): number {
    return this.peak;
  }

  /** The refusal for a call at `nowMs`, or null when it is admitted (and counted). */
  take(nowMs: number): BrokerError | null {
    if (this.perWindow === null) return null;
    // Amortized O(1) a call, however large the limit: the expired prefix is skipped, and dropped once it is half.
    while (this.head < this.admitted.length && this.admitted[this.head] <= nowMs - this.windowMs) this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.admitted.length) {
      this.admitted = this.admitted.slice(this.head);
      this.head = 0;
    }
    const inWindow = this.admitted.length - this.head;
    if (inWindow >= this.perWindow) {
      this.refusedCount += 1;
      const retryMs = this.admitted[this.admitted.length - this.perWindow] + this.windowMs - nowMs;
      const retryAfterS = Math.max(1, Math.ceil(retryMs / 1000));
      return rateLimited(`rate limit exceeded (${this.perWindow} requests a minute)`, retryAfterS * 1000);
    }
    this.admitted.push(nowMs);
    this.peak = Math.max(this.peak, inWindow + 1);
    return null;
  }
}
