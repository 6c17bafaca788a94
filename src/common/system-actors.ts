/**
 * Actor names the gateway writes into the audit log itself: the
 * ADMIN_API_KEY principal (`admin`), the generated key (`bootstrap-admin`),
 * the command line (`cli`), jobs and the circuit breaker (`system`), the
 * order-update path (`gateway`, and `broker:<source>` for broker reports),
 * reconciliation (`reconciliation`), and the broker webhook (`webhook`). Each
 * is also reserved as a prefix before `:`. Neither an API key's name nor an
 * operator named in a request body may be one of them, so an audit row's
 * actor cannot be forged (docs/security.md#audit-actors). A new actor the
 * code writes belongs here.
 */
export const RESERVED_ACTOR_NAMES = [
  'admin',
  'system',
  'cli',
  'bootstrap-admin',
  'gateway',
  'broker',
  'reconciliation',
  'webhook',
] as const;

/** True when `name` is one of the gateway's own actors (case-insensitive; the part before the first `:` counts too). */
export function isReservedActorName(name: string): boolean {
  const reserved: readonly string[] = RESERVED_ACTOR_NAMES;
  const lower = name.trim().toLowerCase();
  const colon = lower.indexOf(':');
  return reserved.includes(lower) || (colon >= 0 && reserved.includes(lower.slice(0, colon).trim()));
}
