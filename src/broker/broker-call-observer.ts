/**
 * Told of the outcome of every call made through the BrokerClient port (the
 * bound client is wrapped by observeBrokerClient), and passes it on to
 * whoever listens, e.g. the circuit breaker counting broker errors. A
 * listener's failure never reaches the broker call.
 */
import { Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { BrokerClient, BrokerError, BrokerErrorKind } from './broker-client.port';

export interface BrokerCallOutcome {
  /** The port method, e.g. `submitOrder`. */
  operation: string;
  ok: boolean;
  /** `ok`, a BrokerError kind, `timeout` or `error`. */
  outcome: 'ok' | BrokerErrorKind | 'timeout' | 'error';
  error?: unknown;
  durationMs: number;
}

export type BrokerCallListener = (outcome: BrokerCallOutcome) => void;

const TIMEOUT_NAMES = new Set(['TimeoutError', 'AbortError']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'UND_ERR_CONNECT_TIMEOUT']);

/** How a failure is labelled: the BrokerError kind, or `timeout` / `error` for anything unclassified. */
export function classifyBrokerFailure(err: unknown): BrokerCallOutcome['outcome'] {
  if (err instanceof BrokerError) return err.kind;
  const e = err as { name?: unknown; code?: unknown } | null;
  if (e && (TIMEOUT_NAMES.has(String(e.name)) || TIMEOUT_CODES.has(String(e.code)))) return 'timeout';
  return 'error';
}

/**
 * Whether a failure is a sign of a sick broker link (it counts toward the
 * circuit breaker): retryable, unknown outcome, auth, timeouts. A rejection or
 * a not-found is the broker answering normally.
 */
export function isBrokerHealthFailure(outcome: BrokerCallOutcome['outcome']): boolean {
  return outcome === 'retryable' || outcome === 'unknown_outcome' || outcome === 'auth' || outcome === 'timeout';
}

@Injectable()
export class BrokerCallObserver {
  private readonly logger = new Logger('BrokerCallObserver');
  private readonly listeners = new Set<BrokerCallListener>();

  /** Returns a function that removes the listener. */
  listen(listener: BrokerCallListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  record(outcome: BrokerCallOutcome): void {
    for (const listener of this.listeners) {
      try {
        listener(outcome);
      } catch (err) {
        this.logger.warn(`broker call listener failed: ${(err as Error).message}`);
      }
    }
  }
}

/** The port methods that return a promise: each is timed and its outcome reported. */
const OBSERVED = new Set<string>([
  'submitOrder',
  'cancelOrder',
  'replaceOrder',
  'cancelAllOrders',
  'closePosition',
  'getOrder',
  'getOrderByClientOrderId',
  'listOrders',
  'listPositions',
  'listFills',
  'getAccount',
  'connect',
  'disconnect',
]);

/**
 * A thin proxy over `client` that reports every port call's outcome to
 * `observer`. Everything else (name, streamState, an adapter's own extras such
 * as the sim's fault controls) is forwarded untouched, with `this` bound to the
 * original object, and `instanceof` still sees the adapter's class.
 */
export function observeBrokerClient<T extends BrokerClient>(client: T, observer: BrokerCallObserver): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const cached = wrapped.get(prop);
      if (cached && (cached as { original?: unknown }).original === value) return cached;
      const fn = value as (...args: unknown[]) => unknown;
      let out: ((...args: unknown[]) => unknown) & { original?: unknown };
      if (typeof prop === 'string' && OBSERVED.has(prop)) {
        out = (...args: unknown[]) => {
          const started = performance.now();
          const report = (ok: boolean, error?: unknown) =>
            observer.record({
              operation: prop,
              ok,
              outcome: ok ? 'ok' : classifyBrokerFailure(error),
              error,
              durationMs: performance.now() - started,
            });
          let result: unknown;
          try {
            result = fn.apply(target, args);
          } catch (err) {
            report(false, err);
            throw err;
          }
          if (result && typeof (result as Promise<unknown>).then === 'function') {
            return (result as Promise<unknown>).then(
              (v) => {
                report(true);
                return v;
              },
              (err: unknown) => {
                report(false, err);
                throw err;
              },
            );
          }
          report(true);
          return result;
        };
      } else {
        out = (...args: unknown[]) => fn.apply(target, args);
      }
      out.original = value;
      wrapped.set(prop, out);
      return out;
    },
  });
}
