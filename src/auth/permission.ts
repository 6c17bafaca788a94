/** What an API key may do (docs/api.md#authentication). */
export const PERMISSIONS = [
  'SUBMIT_ORDER',
  'CANCEL_ORDER',
  'VIEW_ORDERS',
  'VIEW_POSITIONS',
  'VIEW_PNL',
  'MANAGE_STRATEGIES',
  'MANAGE_RECONCILIATION',
  'MANAGE_RISK',
  'MANAGE_API_KEYS',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The caller, as established by authentication. */
export class Principal {
  constructor(
    readonly keyId: string,
    readonly name: string,
    readonly permissions: ReadonlySet<Permission>,
    /** Strategy ids this key may act for; `*` means all. */
    readonly strategies: readonly string[],
  ) {}

  has(p: Permission): boolean {
    return this.permissions.has(p);
  }

  canAccessStrategy(strategyId: string): boolean {
    return this.strategies.includes('*') || this.strategies.includes(strategyId);
  }

  /** The strategies to filter on, or undefined when the key sees all. */
  get strategyScope(): string[] | undefined {
    return this.strategies.includes('*') ? undefined : [...this.strategies];
  }
}
