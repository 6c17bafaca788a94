/**
 * What a new API key may be (docs/api.md#api-keys, docs/api.md#authentication), checked the same way for the admin
 * endpoint and the `keys` command. Pure: no Nest, no database.
 *
 * Invariants:
 * - a key carries at least one permission, each from the permission vocabulary (docs/api.md#authentication),
 *   listed once, in the vocabulary's order;
 * - a key is scoped to at least one strategy; `*` (all strategies) stands alone;
 * - names are printable, short, and never one of the actor names the gateway
 *   itself writes into the audit log (`admin`, `system`, `cli`, `gateway`,
 *   `broker:stream`, ...), compared case-insensitively, nor any name whose part
 *   before a `:` is one of them (`broker:anything`, `system: x`), so an audit
 *   row's actor cannot be forged by naming a key after one of them
 *   (docs/security.md#audit-actors).
 */
import { FieldProblem, InputValidationError } from '../common/domain-error';
import { isReservedActorName, RESERVED_ACTOR_NAMES } from '../common/system-actors';
import { textProblems } from '../common/text';
import { Permission, PERMISSIONS } from './permission';

export interface NewApiKey {
  name: string;
  permissions: Permission[];
  strategies: string[];
}

export const API_KEY_NAME_MAX = 64;
export const API_KEY_STRATEGIES_MAX = 100;
const NAME = /^[A-Za-z0-9][A-Za-z0-9 _.:@-]*$/;
/** The strategy id vocabulary (as STRATEGY_ID), or `*` for every strategy. */
const STRATEGY = /^[A-Za-z0-9_.:-]{1,64}$/;
const FIELDS = ['name', 'permissions', 'strategies'];

const isPermission = (p: unknown): p is Permission => typeof p === 'string' && PERMISSIONS.includes(p as Permission);

/** The normalized key to create, or an InputValidationError naming every bad field. */
export function validateNewApiKey(input: unknown): NewApiKey {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw InputValidationError.field('body', 'must be a JSON object');
  }
  const o = input as Record<string, unknown>;
  // Text PostgreSQL would refuse, in any field or key (docs/security.md#input-validation).
  const textual = textProblems(o);
  if (textual.length) throw new InputValidationError(textual);
  const problems: FieldProblem[] = [];
  const fail = (field: string, problem: string) => {
    const existing = problems.find((p) => p.field === field);
    if (existing) existing.problems.push(problem);
    else problems.push({ field, problems: [problem] });
  };
  for (const k of Object.keys(o)) if (!FIELDS.includes(k) && o[k] !== undefined) fail(k, 'is not a known field');

  let name = '';
  if (typeof o.name !== 'string') fail('name', 'must be a string');
  else {
    name = o.name.trim();
    if (!name.length || name.length > API_KEY_NAME_MAX) {
      fail('name', `must be 1-${API_KEY_NAME_MAX} characters`);
    } else if (!NAME.test(name)) {
      fail('name', 'must start with a letter or digit and contain only letters, digits, spaces and _ . : @ -');
    } else if (isReservedActorName(name)) {
      fail(
        'name',
        `is reserved: ${RESERVED_ACTOR_NAMES.join(', ')} and any of them followed by ":" name the gateway's own actors`,
      );
    }
  }

  let permissions: Permission[] = [];
  if (!Array.isArray(o.permissions)) fail('permissions', 'must be an array of permission names');
  else if (!o.permissions.length) fail('permissions', 'must name at least one permission');
  else {
    const unknown = o.permissions.filter((p) => !isPermission(p));
    if (unknown.length) {
      fail(
        'permissions',
        `unknown permission(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}; known: ${PERMISSIONS.join(', ')}`,
      );
    }
    const given = new Set(o.permissions);
    permissions = PERMISSIONS.filter((p) => given.has(p));
  }

  let strategies: string[] = [];
  if (!Array.isArray(o.strategies)) fail('strategies', 'must be an array of strategy ids (or ["*"])');
  else if (!o.strategies.length) fail('strategies', 'must name at least one strategy, or "*" for all');
  else if (o.strategies.length > API_KEY_STRATEGIES_MAX) {
    fail('strategies', `must name at most ${API_KEY_STRATEGIES_MAX} strategies`);
  } else {
    const bad = o.strategies.filter((s) => typeof s !== 'string' || (s !== '*' && !STRATEGY.test(s)));
    if (bad.length) {
      fail(
        'strategies',
        `each must be "*" or 1-64 characters of A-Z a-z 0-9 _ . : - (bad: ${bad.map((b) => JSON.stringify(b)).join(', ')})`,
      );
    }
    const ids = [...new Set(o.strategies as string[])];
    strategies = ids.includes('*') ? ['*'] : ids;
  }

  if (problems.length) throw new InputValidationError(problems);
  return { name, permissions, strategies };
}

/** Splits a comma-separated command-line list (`A,B , C`), dropping empty items. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Key ids are UUIDs; anything else (the bootstrap `admin`, say) names no stored key. */
export function isApiKeyId(id: string): boolean {
  return UUID.test(id);
}
