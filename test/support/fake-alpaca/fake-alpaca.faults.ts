/**
 * Scripted faults of the fake Alpaca's trading routes: failures (before or
 * after the broker acted), refusals, dropped answers and slow answers, each for
 * the next n requests of a route or of any route ('*').
 */
import type { FakeRoute, FaultRoute } from './fake-alpaca.routes';
import { takeCounted } from './take-counted';
import type { WireResponse } from './fake-alpaca.wire';

export interface FailOptions {
  status: number;
  retryAfterSeconds?: number;
  /** Process the request (e.g. store the order) and then answer with the failure. Default false. */
  afterAccept?: boolean;
  body?: unknown;
}

export interface DelayOptions {
  route?: FaultRoute;
  /** How many requests to delay; default: every one until delayResponse(0). */
  count?: number;
  /** Delay before processing instead of after (default after: the broker acts, the answer is late). */
  before?: boolean;
}

export type Fault =
  | { kind: 'fail'; route: FaultRoute; remaining: number; opts: FailOptions }
  | { kind: 'reject'; route: FaultRoute; remaining: number }
  | { kind: 'drop'; route: FaultRoute; remaining: number };

export interface Delay {
  route: FaultRoute;
  ms: number;
  remaining: number;
  before: boolean;
}

export class FaultPlan {
  private readonly faults: Fault[] = [];
  private readonly delays: Delay[] = [];

  reset(): void {
    this.faults.length = 0;
    this.delays.length = 0;
  }

  /** The next `n` requests on `route` answer `status` (429 with Retry-After when given). */
  failNext(route: FaultRoute, n: number, opts: FailOptions): void {
    this.faults.push({ kind: 'fail', route, remaining: n, opts });
  }

  /** The next `n` order submissions are refused: 403 {"code":40310000,"message":"insufficient buying power"}. */
  rejectNext(n = 1, route: FaultRoute = 'POST /v2/orders'): void {
    this.faults.push({ kind: 'reject', route, remaining: n });
  }

  /** The next `n` requests are processed (the order is stored), then the socket is destroyed unanswered. */
  dropResponseAfterAccept(n = 1, route: FaultRoute = 'POST /v2/orders'): void {
    this.faults.push({ kind: 'drop', route, remaining: n });
  }

  /** Delays answers by `ms` (0 clears every delay). */
  delayResponse(ms: number, opts: DelayOptions = {}): void {
    if (ms <= 0) {
      this.delays.length = 0;
      return;
    }
    this.delays.push({
      route: opts.route ?? '*',
      ms,
      remaining: opts.count ?? Number.POSITIVE_INFINITY,
      before: opts.before ?? false,
    });
  }

  /** The fault for this request of `route`, if any (one use counted). */
  takeFault(route: FakeRoute): Fault | undefined {
    return takeCounted(this.faults, route);
  }

  /** The delay for this request of `route`, if any (one use counted). */
  takeDelay(route: FakeRoute): Delay | undefined {
    return takeCounted(this.delays, route);
  }
}

/** A scripted failure's answer: the given body, or Alpaca's for the status. */
export function failure(opts: FailOptions): WireResponse {
  const headers: Record<string, string> = {};
  if (opts.retryAfterSeconds !== undefined) headers['Retry-After'] = String(opts.retryAfterSeconds);
  const body =
    opts.body ??
    (opts.status === 429
      ? { code: 42910000, message: 'rate limit exceeded' }
      : { code: opts.status * 100000 + 10000, message: `fake failure ${opts.status}` });
  return { status: opts.status, body, headers };
}

/**
 * Alpaca's rate limit on the trading API: at most `perWindow` requests in any
 * sliding window (one minute by default); above it a request is not acted on
 * and answered 429 with Retry-After (whole seconds) and Alpaca's error body.
 * Counts what it admitted, so a test can check no window ever held more.
 */
export class RateLimitMode {
  private limit: { perWindow: number; windowMs: number } | null = null;
  private admitted: number[] = [];
  private refusedCount = 0;
  private peak = 0;

  /** On with a budget, off with null. Resets the counts. */
  set(perWindow: number | null, windowMs = 60_000): void {
    this.limit = perWindow === null ? null : { perWindow, windowMs };
    this.reset();
  }

  reset(): void {
    this.admitted = [];
    this.refusedCount = 0;
    this.peak = 0;
  }

  /** Requests answered 429 since the mode was set. */
  get refused(): number {
    return this.refusedCount;
  }

  /** The most requests admitted within any one window since the mode was set. */
  get maxInWindow(): number {
    return this.peak;
  }

  /** The 429 for a request at `nowMs`, or null when it is admitted (and counted). */
  take(nowMs: number): WireResponse | null {
    if (!this.limit) return null;
    const { perWindow, windowMs } = this.limit;
    this.admitted = this.admitted.filter((t) => t > nowMs - windowMs);
    if (this.admitted.length >= perWindow) {
      this.refusedCount += 1;
      const retryMs = this.admitted[this.admitted.length - perWindow] + windowMs - nowMs;
      return failure({ status: 429, retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)) });
    }
    this.admitted.push(nowMs);
    this.peak = Math.max(this.peak, this.admitted.length);
    return null;
  }
}
