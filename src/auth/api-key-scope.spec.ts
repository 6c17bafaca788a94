import fc from 'fast-check';
import { ALL_STRATEGIES, covers, describeExcess, KeyScope, scopeExcess } from './api-key-scope';
import { PERMISSIONS } from './permission';

const strategyIds = fc.constantFrom('s_a', 's_b', 's_c', 's_d');
const scopes: fc.Arbitrary<KeyScope> = fc.record({
  permissions: fc.subarray([...PERMISSIONS]),
  strategies: fc.oneof(
    { weight: 1, arbitrary: fc.constant([ALL_STRATEGIES]) },
    { weight: 4, arbitrary: fc.uniqueArray(strategyIds, { minLength: 1 }) },
  ),
});
const OPERATOR: KeyScope = { permissions: [...PERMISSIONS], strategies: ['*'] };

describe('scopeExcess / covers (docs/api.md#api-keys)', () => {
  it('the review finding: a MANAGE_API_KEYS key for s_a cannot grant everything', () => {
    const holder: KeyScope = { permissions: ['MANAGE_API_KEYS'], strategies: ['s_a'] };
    const excess = scopeExcess(holder, OPERATOR);
    expect(excess).toEqual({ permissions: PERMISSIONS.filter((p) => p !== 'MANAGE_API_KEYS'), strategies: ['*'] });
    expect(describeExcess(excess)).toContain('"*"');
  });

  it('a key may grant what it holds, and fewer strategies', () => {
    const holder: KeyScope = { permissions: ['MANAGE_API_KEYS', 'VIEW_ORDERS'], strategies: ['s_a', 's_b'] };
    expect(covers(holder, { permissions: ['VIEW_ORDERS'], strategies: ['s_b'] })).toBe(true);
    expect(scopeExcess(holder, { permissions: ['VIEW_ORDERS'], strategies: ['s_b', 's_c'] })).toEqual({
      permissions: [],
      strategies: ['s_c'],
    });
  });

  it('a * key may grant any strategy, but not a permission it lacks', () => {
    const holder: KeyScope = { permissions: ['MANAGE_API_KEYS'], strategies: ['*'] };
    expect(covers(holder, { permissions: ['MANAGE_API_KEYS'], strategies: ['*'] })).toBe(true);
    expect(scopeExcess(holder, { permissions: ['SUBMIT_ORDER'], strategies: ['x'] })).toEqual({
      permissions: ['SUBMIT_ORDER'],
      strategies: [],
    });
  });

  it('every scope covers itself (property)', () => {
    fc.assert(fc.property(scopes, (s) => covers(s, s)));
  });

  it('covering is transitive: no chain of keys ends wider than it started (property)', () => {
    fc.assert(
      fc.property(scopes, scopes, scopes, (a, b, c) => {
        fc.pre(covers(a, b) && covers(b, c));
        expect(covers(a, c)).toBe(true);
      }),
    );
  });

  it('the operator scope (every permission, *) covers every scope (property)', () => {
    fc.assert(fc.property(scopes, (s) => covers(OPERATOR, s)));
  });

  it('the excess names exactly what the holder lacks (property, against a set-based oracle)', () => {
    fc.assert(
      fc.property(scopes, scopes, (holder, requested) => {
        const e = scopeExcess(holder, requested);
        expect(e.permissions).toEqual(
          requested.permissions.filter((p) => !holder.permissions.includes(p)).sort(byVocabulary),
        );
        const all = holder.strategies.includes('*');
        expect(new Set(e.strategies)).toEqual(
          new Set(all ? [] : requested.strategies.filter((s) => s === '*' || !holder.strategies.includes(s))),
        );
        expect(covers(holder, requested)).toBe(e.permissions.length === 0 && e.strategies.length === 0);
      }),
    );
  });

  it('a request covered by its holder is covered again after removing anything from it (property)', () => {
    fc.assert(
      fc.property(scopes, scopes, (holder, requested) => {
        fc.pre(covers(holder, requested) && requested.strategies.length > 1);
        expect(covers(holder, { ...requested, strategies: requested.strategies.slice(1) })).toBe(true);
        expect(covers(holder, { ...requested, permissions: requested.permissions.slice(1) })).toBe(true);
      }),
    );
  });
});

function byVocabulary(a: string, b: string): number {
  return PERMISSIONS.indexOf(a as never) - PERMISSIONS.indexOf(b as never);
}
