import type { Permission } from '../../src/auth/permission';

/**
 * Every /api/v1 endpoint and the permission it requires: the table behind
 * test/security/authorization.security-spec.ts. One row per endpoint; the spec checks that the
 * table and the running app's OpenAPI document list the same endpoints, so a
 * new endpoint without a row (or a row for a removed one) fails the test.
 *
 * To add an endpoint: one row, with `route` as the OpenAPI document writes it
 * (`{param}`), a concrete `path` to call, and a body that passes validation
 * where you can (a 422 still proves the key got through, since guards run
 * before validation). Rows run in order, so put state-changing rows (trip,
 * engage) before the rows that undo them.
 */
export interface RbacRoute {
  /** `METHOD /api/v1/path/{param}`, as in /docs/json. */
  route: string;
  /** The concrete path called (params filled in; ids that exist or not, either is fine). */
  path: string;
  body?: unknown;
  /** The permission the endpoint requires; null: any valid key. */
  permission: Permission | null;
  /** Server-Sent Events: only the status is read, then the stream is dropped. */
  stream?: boolean;
}

const NO_SUCH_UUID = '00000000-0000-4000-8000-000000000000';

export const RBAC_ROUTES: RbacRoute[] = [
  { route: 'GET /api/v1/config', path: '/api/v1/config', permission: null },

  // Orders
  {
    route: 'POST /api/v1/orders',
    path: '/api/v1/orders',
    body: { symbol: 'RBAC', side: 'buy', qty: 1, client_order_id: 'rbac-matrix-1' },
    permission: 'SUBMIT_ORDER',
  },
  { route: 'GET /api/v1/orders', path: '/api/v1/orders', permission: 'VIEW_ORDERS' },
  { route: 'GET /api/v1/orders/pending', path: '/api/v1/orders/pending', permission: 'VIEW_ORDERS' },
  { route: 'GET /api/v1/orders/recent-fills', path: '/api/v1/orders/recent-fills', permission: 'VIEW_ORDERS' },
  {
    route: 'GET /api/v1/orders/{client_order_id}/audit',
    path: '/api/v1/orders/rbac-matrix-1/audit',
    permission: 'VIEW_ORDERS',
  },
  {
    route: 'GET /api/v1/orders/{client_order_id}',
    path: '/api/v1/orders/rbac-matrix-1',
    permission: 'VIEW_ORDERS',
  },
  {
    route: 'PATCH /api/v1/orders/{client_order_id}',
    path: '/api/v1/orders/rbac-matrix-1',
    body: { qty: 2 },
    permission: 'SUBMIT_ORDER',
  },
  {
    route: 'POST /api/v1/orders/{client_order_id}/cancel',
    path: '/api/v1/orders/rbac-matrix-1/cancel',
    permission: 'CANCEL_ORDER',
  },
  {
    route: 'POST /api/v1/orders/cancel-all',
    path: '/api/v1/orders/cancel-all',
    body: { symbol: 'RBACX' },
    permission: 'CANCEL_ORDER',
  },
  {
    route: 'POST /api/v1/manual/orders',
    path: '/api/v1/manual/orders',
    body: { symbol: 'RBAC', side: 'buy', qty: 1, client_order_id: 'rbac-matrix-manual', reason: 'rbac matrix' },
    permission: 'SUBMIT_ORDER',
  },
  // TWAP plans
  {
    route: 'POST /api/v1/orders/slice',
    path: '/api/v1/orders/slice',
    body: { symbol: 'RBAC', side: 'buy', qty: 2, duration_minutes: 1, interval_seconds: 30 },
    permission: 'SUBMIT_ORDER',
  },
  {
    route: 'GET /api/v1/orders/{parent_id}/slices',
    path: '/api/v1/orders/rbac-matrix-plan/slices',
    permission: 'VIEW_ORDERS',
  },
  {
    route: 'DELETE /api/v1/orders/{parent_id}/slices',
    path: '/api/v1/orders/rbac-matrix-plan/slices',
    permission: 'CANCEL_ORDER',
  },
  { route: 'GET /api/v1/events', path: '/api/v1/events', permission: 'VIEW_ORDERS', stream: true },

  // Positions
  { route: 'GET /api/v1/positions', path: '/api/v1/positions', permission: 'VIEW_POSITIONS' },
  {
    route: 'POST /api/v1/positions/{symbol}/close',
    path: '/api/v1/positions/RBACX/close',
    body: {},
    permission: 'SUBMIT_ORDER',
  },
  {
    route: 'POST /api/v1/positions/{symbol}/adjust',
    path: '/api/v1/positions/RBACX/adjust',
    body: { target_qty: 0 },
    permission: 'SUBMIT_ORDER',
  },
  {
    route: 'POST /api/v1/positions/flatten-all',
    path: '/api/v1/positions/flatten-all',
    body: {},
    permission: 'SUBMIT_ORDER',
  },

  { route: 'GET /api/v1/account', path: '/api/v1/account', permission: 'VIEW_POSITIONS' },
  { route: 'GET /api/v1/positions/pnl/realtime', path: '/api/v1/positions/pnl/realtime', permission: 'VIEW_PNL' },
  { route: 'GET /api/v1/performance/daily', path: '/api/v1/performance/daily', permission: 'VIEW_PNL' },

  // Strategies
  { route: 'GET /api/v1/strategies', path: '/api/v1/strategies', permission: 'VIEW_ORDERS' },
  { route: 'GET /api/v1/strategies/{id}', path: '/api/v1/strategies/rbac_strategy', permission: 'VIEW_ORDERS' },
  {
    route: 'PUT /api/v1/strategies/{id}/state',
    path: '/api/v1/strategies/rbac_strategy/state',
    body: { state: 'active', reason: 'rbac matrix' },
    permission: 'MANAGE_STRATEGIES',
  },
  {
    route: 'POST /api/v1/strategies/{id}/heartbeat',
    path: '/api/v1/strategies/rbac_strategy/heartbeat',
    body: { timeout_seconds: 3600 },
    permission: 'SUBMIT_ORDER',
  },
  {
    route: 'DELETE /api/v1/strategies/{id}/heartbeat',
    path: '/api/v1/strategies/rbac_strategy/heartbeat',
    permission: 'SUBMIT_ORDER',
  },

  // Simulator (BROKER=sim, the test default)
  { route: 'GET /api/v1/sim/prices', path: '/api/v1/sim/prices', permission: 'MANAGE_RISK' },
  {
    route: 'PUT /api/v1/sim/prices/{symbol}',
    path: '/api/v1/sim/prices/RBAC',
    body: { price: '100', operator: 'rbac' },
    permission: 'MANAGE_RISK',
  },

  // Risk: kill switch, circuit breaker, fat-finger
  { route: 'GET /api/v1/kill-switch/status', path: '/api/v1/kill-switch/status', permission: 'MANAGE_RISK' },
  {
    route: 'POST /api/v1/kill-switch/engage',
    path: '/api/v1/kill-switch/engage',
    body: { reason: 'rbac matrix', operator: 'rbac' },
    permission: 'MANAGE_RISK',
  },
  {
    route: 'POST /api/v1/kill-switch/disengage',
    path: '/api/v1/kill-switch/disengage',
    body: { operator: 'rbac' },
    permission: 'MANAGE_RISK',
  },
  { route: 'GET /api/v1/circuit-breaker/status', path: '/api/v1/circuit-breaker/status', permission: 'MANAGE_RISK' },
  {
    route: 'POST /api/v1/circuit-breaker/trip',
    path: '/api/v1/circuit-breaker/trip',
    body: { operator: 'rbac', reason: 'rbac matrix' },
    permission: 'MANAGE_RISK',
  },
  {
    route: 'POST /api/v1/circuit-breaker/reset',
    path: '/api/v1/circuit-breaker/reset',
    body: { operator: 'rbac' },
    permission: 'MANAGE_RISK',
  },
  { route: 'GET /api/v1/fat-finger/thresholds', path: '/api/v1/fat-finger/thresholds', permission: 'MANAGE_RISK' },
  {
    route: 'PUT /api/v1/fat-finger/thresholds',
    path: '/api/v1/fat-finger/thresholds',
    body: { operator: 'rbac' },
    permission: 'MANAGE_RISK',
  },

  // Reconciliation
  {
    route: 'GET /api/v1/reconciliation/status',
    path: '/api/v1/reconciliation/status',
    permission: 'MANAGE_RECONCILIATION',
  },
  { route: 'POST /api/v1/reconciliation/run', path: '/api/v1/reconciliation/run', permission: 'MANAGE_RECONCILIATION' },
  {
    route: 'POST /api/v1/reconciliation/force-complete',
    path: '/api/v1/reconciliation/force-complete',
    body: { operator: 'rbac', reason: 'rbac matrix' },
    permission: 'MANAGE_RECONCILIATION',
  },
  {
    route: 'POST /api/v1/reconciliation/fills-backfill',
    path: '/api/v1/reconciliation/fills-backfill',
    body: {},
    permission: 'MANAGE_RECONCILIATION',
  },
  {
    route: 'POST /api/v1/reconciliation/findings/{id}/acknowledge',
    path: '/api/v1/reconciliation/findings/1/acknowledge',
    body: { operator: 'rbac' },
    permission: 'MANAGE_RECONCILIATION',
  },

  // Webhooks: without WEBHOOK_SECRET the endpoint itself asks for MANAGE_RECONCILIATION.
  {
    route: 'POST /api/v1/webhooks/orders',
    path: '/api/v1/webhooks/orders',
    body: { event: 'new' },
    permission: 'MANAGE_RECONCILIATION',
  },

  // API-key management
  {
    route: 'POST /api/v1/admin/api-keys',
    path: '/api/v1/admin/api-keys',
    // Within the creating key's own scope (docs/api.md#api-keys): the only-MANAGE_API_KEYS key grants no more.
    body: { name: 'rbac-made', permissions: ['MANAGE_API_KEYS'], strategies: ['*'] },
    permission: 'MANAGE_API_KEYS',
  },
  { route: 'GET /api/v1/admin/api-keys', path: '/api/v1/admin/api-keys', permission: 'MANAGE_API_KEYS' },
  {
    route: 'DELETE /api/v1/admin/api-keys/{id}',
    path: `/api/v1/admin/api-keys/${NO_SUCH_UUID}`,
    permission: 'MANAGE_API_KEYS',
  },
];
