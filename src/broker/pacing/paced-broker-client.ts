import { BrokerClient, BrokerError } from '../broker-client.port';
import { BrokerPacer } from './broker-pacer';
import { classOf } from './pacing.decision';

/**
 * A thin proxy over `client` whose trading calls each wait for a slot of the
 * shared budget (docs/broker-pacing.md); a 429 answer shrinks the budget.
 * The stream (connect/disconnect) and an adapter's own extras pass untouched,
 * with `this` bound to the original object; `instanceof` still sees the
 * adapter's class.
 */
export function paceBrokerClient<T extends BrokerClient>(client: T, pacer: BrokerPacer): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const cached = wrapped.get(prop);
      if (cached && (cached as { original?: unknown }).original === value) return cached;
      const fn = value as (...args: unknown[]) => unknown;
      const cls = typeof prop === 'string' ? classOf(prop) : null;
      let out: ((...args: unknown[]) => unknown) & { original?: unknown };
      if (cls) {
        out = async (...args: unknown[]) => {
          await pacer.acquire(cls);
          try {
            return await fn.apply(target, args);
          } catch (err) {
            if (err instanceof BrokerError && err.details.status === 429) await pacer.rateLimited();
            throw err;
          }
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
