import fc from 'fast-check';
import { InputValidationError } from '../common/domain-error';
import {
  isReservedActorName as isReservedKeyName,
  RESERVED_ACTOR_NAMES as RESERVED_KEY_NAMES,
} from '../common/system-actors';
import { isApiKeyId, splitList, validateNewApiKey } from './api-key-policy';
import { PERMISSIONS } from './permission';

/** The fields an InputValidationError names, sorted. */
function badFields(input: unknown): string[] {
  try {
    validateNewApiKey(input);
  } catch (err) {
    if (err instanceof InputValidationError) return err.fields.map((f) => f.field).sort();
    throw err;
  }
  return [];
}

const valid = { name: 'signal-service', permissions: ['SUBMIT_ORDER'], strategies: ['alpha'] };

describe('validateNewApiKey (docs/api.md#api-keys)', () => {
  it('accepts a well-formed key and normalizes it', () => {
    expect(
      validateNewApiKey({
        name: '  signal-service ',
        permissions: ['VIEW_ORDERS', 'SUBMIT_ORDER', 'VIEW_ORDERS'],
        strategies: ['b', 'a', 'b'],
      }),
    ).toEqual({ name: 'signal-service', permissions: ['SUBMIT_ORDER', 'VIEW_ORDERS'], strategies: ['b', 'a'] });
  });

  it("'*' among the strategies stands for all and stands alone", () => {
    expect(validateNewApiKey({ ...valid, strategies: ['alpha', '*'] }).strategies).toEqual(['*']);
  });

  it('names every bad field at once', () => {
    expect(badFields({ name: '', permissions: [], strategies: [] })).toEqual(['name', 'permissions', 'strategies']);
    expect(badFields({})).toEqual(['name', 'permissions', 'strategies']);
  });

  it.each([
    ['an unknown permission', { ...valid, permissions: ['SUBMIT_ORDER', 'LAUNCH_ROCKETS'] }, 'permissions'],
    ['a lower-case permission', { ...valid, permissions: ['submit_order'] }, 'permissions'],
    ['permissions not an array', { ...valid, permissions: 'SUBMIT_ORDER' }, 'permissions'],
    ['no permission', { ...valid, permissions: [] }, 'permissions'],
    ['empty strategies', { ...valid, strategies: [] }, 'strategies'],
    ['a strategy with a space', { ...valid, strategies: ['al pha'] }, 'strategies'],
    ['a non-string strategy', { ...valid, strategies: [7] }, 'strategies'],
    ['a wildcard pattern', { ...valid, strategies: ['alpha*'] }, 'strategies'],
    ['too many strategies', { ...valid, strategies: Array.from({ length: 101 }, (_, i) => `s${i}`) }, 'strategies'],
    ['a blank name', { ...valid, name: '   ' }, 'name'],
    ['a name of 65 characters', { ...valid, name: 'a'.repeat(65) }, 'name'],
    ['a name with a newline', { ...valid, name: 'a\nb' }, 'name'],
    ['a name that is not a string', { ...valid, name: 42 }, 'name'],
    ['an unknown field', { ...valid, role: 'admin' }, 'role'],
  ])('refuses %s, naming the field', (_, input, field) => {
    expect(badFields(input)).toEqual([field]);
  });

  it.each(RESERVED_KEY_NAMES.flatMap((n) => [n, n.toUpperCase()]))('refuses the reserved name %s', (name) => {
    expect(badFields({ ...valid, name })).toEqual(['name']);
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'x', 3]) expect(badFields(body)).toEqual(['body']);
  });

  it('any non-empty subset of the permissions is accepted, listed once in vocabulary order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PERMISSIONS), { minLength: 1, maxLength: 20 }), (perms) => {
        const out = validateNewApiKey({ ...valid, permissions: perms }).permissions;
        expect(out).toEqual(PERMISSIONS.filter((p) => perms.includes(p)));
      }),
    );
  });

  it('any string outside the vocabulary among the permissions is refused (property)', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !(PERMISSIONS as readonly string[]).includes(s)),
        fc.array(fc.constantFrom(...PERMISSIONS)),
        (bad, good) => {
          expect(badFields({ ...valid, permissions: [...good, bad] })).toEqual(['permissions']);
        },
      ),
    );
  });
});

describe('splitList', () => {
  it('splits on commas, trims, drops empty items', () => {
    expect(splitList(' A, B ,,C ')).toEqual(['A', 'B', 'C']);
    expect(splitList('')).toEqual([]);
  });
});

describe('isApiKeyId', () => {
  it('accepts UUIDs only', () => {
    expect(isApiKeyId('6f1c2a7e-3b4d-4c5e-8f90-a1b2c3d4e5f6')).toBe(true);
    expect(isApiKeyId('admin')).toBe(false);
    expect(isApiKeyId("'; DROP TABLE api_keys; --")).toBe(false);
  });
});

describe('reserved key names: the actors the gateway writes itself (docs/security.md#audit-actors)', () => {
  it.each([
    'gateway',
    'GATEWAY',
    'system',
    'reconciliation',
    'broker:stream',
    'broker:poll',
    'Broker:Webhook',
    'broker:anything-new',
    'system:jobs',
    'gateway : x',
    'webhook',
    'cli',
    'bootstrap-admin',
  ])('refuses %s', (name) => {
    expect(isReservedKeyName(name)).toBe(true);
    expect(badFields({ ...valid, name })).toEqual(['name']);
  });

  it.each(['signal-service', 'broker-bridge', 'systematic', 'gateway2', 'desk:broker', 'my-admin'])(
    'accepts %s',
    (name) => {
      expect(isReservedKeyName(name)).toBe(false);
      expect(badFields({ ...valid, name })).toEqual([]);
    },
  );

  it('any casing of any reserved name, alone or before a colon, is refused (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RESERVED_KEY_NAMES),
        fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
        fc.option(fc.stringMatching(/^[a-z0-9_.-]{0,20}$/), { nil: undefined }),
        (reserved, upper, suffix) => {
          const cased = [...reserved].map((c, i) => (upper[i % upper.length] ? c.toUpperCase() : c)).join('');
          const name = suffix === undefined ? cased : `${cased}:${suffix}`;
          expect(isReservedKeyName(name)).toBe(true);
        },
      ),
    );
  });
});
