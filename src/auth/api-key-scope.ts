/**
 * What a key may do to other keys (docs/api.md#api-keys, docs/security.md#api-keys-and-privilege).
 * Pure: no Nest, no database.
 *
 * Invariants:
 * - a key creates only keys whose permissions and strategies it holds itself:
 *   no permission it lacks, and a strategy only when it holds that strategy or
 *   `*` (only a `*` key grants `*`);
 * - a key revokes, and sees in listings, only keys within its own scope (the
 *   same subset rule, applied to the stored key);
 * - the rule is a subset order: a scope covers itself, and a scope covering a
 *   second one that covers a third covers the third, so no chain of keys
 *   (A creates B, B creates C) ends wider than where it started;
 * - a holder of every permission and `*` (the ADMIN_API_KEY, the bootstrap key)
 *   covers every key. The command line acts with no scope at all (operator
 *   powers) and never reaches these checks.
 */
import { Permission, PERMISSIONS } from './permission';

/** The permissions and strategies a key holds (or asks for). */
export interface KeyScope {
  permissions: readonly Permission[];
  strategies: readonly string[];
}

/** What a requested or stored scope holds beyond the holder's; both empty when it is covered. */
export interface ScopeExcess {
  permissions: Permission[];
  strategies: string[];
}

export const ALL_STRATEGIES = '*';

/** The part of `requested` that `holder` does not hold itself, in vocabulary / request order. */
export function scopeExcess(holder: KeyScope, requested: KeyScope): ScopeExcess {
  const held = new Set(holder.permissions);
  const permissions = PERMISSIONS.filter((p) => requested.permissions.includes(p) && !held.has(p));
  const holdsAll = holder.strategies.includes(ALL_STRATEGIES);
  const strategies = holdsAll
    ? []
    : [...new Set(requested.strategies)].filter((s) => s === ALL_STRATEGIES || !holder.strategies.includes(s));
  return { permissions, strategies };
}

/** True when `holder` holds every permission and strategy of `other`. */
export function covers(holder: KeyScope, other: KeyScope): boolean {
  const e = scopeExcess(holder, other);
  return e.permissions.length === 0 && e.strategies.length === 0;
}

/** One sentence naming what exceeds, for the error message. */
export function describeExcess(e: ScopeExcess): string {
  const parts: string[] = [];
  if (e.permissions.length) parts.push(`permission(s) ${e.permissions.join(', ')}`);
  if (e.strategies.length) parts.push(`strategy(ies) ${e.strategies.map((s) => JSON.stringify(s)).join(', ')}`);
  return parts.join(' and ');
}
