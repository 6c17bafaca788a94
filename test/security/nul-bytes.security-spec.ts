/**
 * Finding 4 (docs/security.md#input-validation): a NUL character (or a lone
 * UTF-16 surrogate) in any text that reaches PostgreSQL was answered 500 by
 * the database. Every door now answers 422 VALIDATION_FAILED naming the field,
 * in bodies (values and keys, at any depth), query strings and path
 * parameters, and writes nothing.
 */
import { signWebhook } from '../../src/webhooks/webhook-signature';
import { auth, startTestApp, TestApp } from '../support/app';
import { countRows, expectInvalidFields } from '../support/http-expect';

const NUL = '\u0000';
const SECRET = 'webhook-secret-0123456789';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { WEBHOOK_SECRET: SECRET } });
});

afterAll(async () => {
  await t.close();
});

type Probe = [label: string, method: 'post' | 'put', path: string, body: Record<string, unknown>, field: string];

const BODIES: Probe[] = [
  ['kill-switch operator', 'post', '/api/v1/kill-switch/engage', { reason: 'r', operator: `op${NUL}` }, 'operator'],
  ['kill-switch reason', 'post', '/api/v1/kill-switch/engage', { reason: `r${NUL}`, operator: 'op' }, 'reason'],
  [
    'kill-switch details value',
    'post',
    '/api/v1/kill-switch/engage',
    { reason: 'r', operator: 'op', details: { note: `x${NUL}y` } },
    'details.note',
  ],
  [
    'kill-switch details key',
    'post',
    '/api/v1/kill-switch/engage',
    { reason: 'r', operator: 'op', details: { [`k${NUL}`]: 1 } },
    'details.k\\u0000',
  ],
  ['kill-switch disengage notes', 'post', '/api/v1/kill-switch/disengage', { operator: 'op', notes: NUL }, 'notes'],
  ['breaker trip reason', 'post', '/api/v1/circuit-breaker/trip', { operator: 'op', reason: `r${NUL}` }, 'reason'],
  ['breaker reset notes', 'post', '/api/v1/circuit-breaker/reset', { operator: 'op', notes: `n${NUL}` }, 'notes'],
  ['fat-finger operator', 'put', '/api/v1/fat-finger/thresholds', { operator: `o${NUL}` }, 'operator'],
  [
    'fat-finger symbol key',
    'put',
    '/api/v1/fat-finger/thresholds',
    { operator: 'op', symbol_overrides: { [`AA${NUL}`]: null } },
    'symbol_overrides.AA\\u0000',
  ],
  [
    'reconciliation force-complete reason',
    'post',
    '/api/v1/reconciliation/force-complete',
    { operator: 'op', reason: `r${NUL}` },
    'reason',
  ],
  [
    'reconciliation acknowledge notes',
    'post',
    '/api/v1/reconciliation/findings/1/acknowledge',
    { operator: 'op', notes: `n${NUL}` },
    'notes',
  ],
  [
    'API-key name',
    'post',
    '/api/v1/admin/api-keys',
    { name: `n${NUL}`, permissions: ['VIEW_ORDERS'], strategies: ['*'] },
    'name',
  ],
  [
    'API-key strategy',
    'post',
    '/api/v1/admin/api-keys',
    { name: 'nul-probe', permissions: ['VIEW_ORDERS'], strategies: [`s${NUL}`] },
    'strategies.0',
  ],
  ['order symbol', 'post', '/api/v1/orders', { symbol: `A${NUL}`, side: 'buy', qty: 1 }, 'symbol'],
  [
    'order client_order_id',
    'post',
    '/api/v1/orders',
    { symbol: 'NUL', side: 'buy', qty: 1, client_order_id: `c${NUL}` },
    'client_order_id',
  ],
  ['order unknown field', 'post', '/api/v1/orders', { symbol: 'NUL', side: 'buy', qty: 1, x: NUL }, 'x'],
  [
    'a lone surrogate in a reason',
    'post',
    '/api/v1/kill-switch/engage',
    { reason: 'r\ud800', operator: 'op' },
    'reason',
  ],
];

it.each(BODIES)('%s: 422 naming the field, nothing written', async (_label, method, path, body, field) => {
  const before = await countRows(t.db, 'audit_log');
  const res = await t.http[method](path).set(auth).send(body);
  expectInvalidFields(res, [field]);
  expect(await countRows(t.db, 'audit_log')).toBe(before);
});

it.each([
  ['query ?symbol=', `/api/v1/orders?symbol=A%00`, 'symbol'],
  ['query ?strategy_id=', `/api/v1/orders?strategy_id=s%00`, 'strategy_id'],
  ['query ?cursor=', `/api/v1/orders?cursor=%00`, 'cursor'],
  ['path client_order_id', `/api/v1/orders/c%00`, 'client_order_id'],
])('%s: 422 naming the parameter', async (_label, path, field) => {
  expectInvalidFields(await t.http.get(path).set(auth), [field]);
});

it('path id of an API key to revoke: 422 naming it', async () => {
  expectInvalidFields(await t.http.delete('/api/v1/admin/api-keys/a%00b').set(auth), ['id']);
});

it('a signed webhook whose ids carry a NUL: 422 naming them, nothing applied', async () => {
  const body = JSON.stringify({
    event: 'fill',
    execution_id: `e${NUL}`,
    price: '1',
    qty: '1',
    order: {
      id: `b${NUL}`,
      client_order_id: 'nul-webhook',
      symbol: 'NUL',
      side: 'buy',
      type: 'market',
      time_in_force: 'day',
      qty: '1',
      filled_qty: '1',
      status: 'filled',
      created_at: '2026-01-02T15:00:00Z',
    },
  });
  const res = await t.http
    .post('/api/v1/webhooks/orders')
    .set('Content-Type', 'application/json')
    .set('X-Alpaca-Signature', signWebhook(body, SECRET))
    .send(body);
  expectInvalidFields(res, ['execution_id', 'order.id']);
});
