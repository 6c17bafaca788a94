import { Permission, PERMISSIONS, Principal } from './permission';

const principal = (permissions: Permission[], strategies: string[]) =>
  new Principal('key-1', 'test key', new Set(permissions), strategies);

describe('Principal (docs/api.md#authentication)', () => {
  describe('permissions', () => {
    it('has exactly the permissions it was given', () => {
      const p = principal(['SUBMIT_ORDER', 'VIEW_ORDERS'], ['*']);
      expect(p.has('SUBMIT_ORDER')).toBe(true);
      expect(p.has('VIEW_ORDERS')).toBe(true);
      for (const other of PERMISSIONS.filter((x) => x !== 'SUBMIT_ORDER' && x !== 'VIEW_ORDERS')) {
        expect(p.has(other)).toBe(false);
      }
    });

    it('a key with no permissions has none', () => {
      const p = principal([], ['*']);
      for (const perm of PERMISSIONS) expect(p.has(perm)).toBe(false);
    });

    it('the permission vocabulary is the documented one', () => {
      expect([...PERMISSIONS].sort()).toEqual(
        [
          'SUBMIT_ORDER',
          'CANCEL_ORDER',
          'VIEW_ORDERS',
          'VIEW_POSITIONS',
          'VIEW_PNL',
          'MANAGE_STRATEGIES',
          'MANAGE_RECONCILIATION',
          'MANAGE_RISK',
          'MANAGE_API_KEYS',
        ].sort(),
      );
    });
  });

  describe('strategy scope', () => {
    it("'*' sees every strategy and has no scope filter", () => {
      const p = principal(['VIEW_ORDERS'], ['*']);
      expect(p.canAccessStrategy('alpha_baseline')).toBe(true);
      expect(p.canAccessStrategy('anything_else')).toBe(true);
      expect(p.strategyScope).toBeUndefined();
    });

    it("'*' alongside explicit strategies still sees all", () => {
      const p = principal(['VIEW_ORDERS'], ['alpha_baseline', '*']);
      expect(p.canAccessStrategy('momo_v2')).toBe(true);
      expect(p.strategyScope).toBeUndefined();
    });

    it('an explicit list sees only those strategies', () => {
      const p = principal(['VIEW_ORDERS'], ['alpha_baseline', 'momo_v2']);
      expect(p.canAccessStrategy('alpha_baseline')).toBe(true);
      expect(p.canAccessStrategy('momo_v2')).toBe(true);
      expect(p.canAccessStrategy('other')).toBe(false);
      expect(p.strategyScope).toEqual(['alpha_baseline', 'momo_v2']);
    });

    it('matching is exact: no prefixes, no case folding, no wildcard patterns', () => {
      const p = principal(['VIEW_ORDERS'], ['alpha']);
      expect(p.canAccessStrategy('alpha_baseline')).toBe(false);
      expect(p.canAccessStrategy('ALPHA')).toBe(false);
      expect(p.canAccessStrategy('')).toBe(false);
      expect(p.canAccessStrategy('*')).toBe(false);
      expect(principal([], ['alpha*']).canAccessStrategy('alpha_baseline')).toBe(false);
    });

    it('an empty list sees nothing and filters to nothing', () => {
      const p = principal(['VIEW_ORDERS'], []);
      expect(p.canAccessStrategy('alpha_baseline')).toBe(false);
      expect(p.strategyScope).toEqual([]);
    });

    it('strategyScope is a copy the caller cannot use to widen the key', () => {
      const strategies = ['alpha_baseline'];
      const p = principal(['VIEW_ORDERS'], strategies);
      p.strategyScope!.push('*');
      expect(p.canAccessStrategy('other')).toBe(false);
      expect(p.strategyScope).toEqual(['alpha_baseline']);
    });
  });
});
