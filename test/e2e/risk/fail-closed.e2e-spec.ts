/**
 * Fail closed (docs/risk-and-safety.md#fail-closed): when a safety state cannot be read — its table in
 * PostgreSQL is unreachable (held by an exclusive lock, so every read hangs)
 * and its Redis copy is gone — orders that add exposure are refused with 503
 * SAFETY_STATE_UNAVAILABLE naming the state, cancels still pass, and orders
 * pass again once the state can be read.
 */
import Redis from 'ioredis';
import type { PoolClient } from 'pg';
import { Pool } from 'pg';
import { ExposureRepository } from '../../../src/orders/persistence/exposure.repository';
import { auth, startTestApp, TEST_REDIS_URL, TestApp } from '../../support/app';
import { eventually } from '../../support/wait';

interface StateUnderTest {
  state: string;
  tables: string[];
  /** The state's copy in Redis, when it keeps one. */
  redisKey?: string;
}

const STATES: StateUnderTest[] = [
  { state: 'kill_switch', tables: ['kill_switch_state'], redisKey: 'kill_switch:state' },
  { state: 'circuit_breaker', tables: ['circuit_breaker_state'], redisKey: 'circuit_breaker:state' },
  {
    state: 'fat_finger_thresholds',
    tables: ['fat_finger_settings', 'fat_finger_symbol_overrides'],
    redisKey: 'fat_finger:thresholds',
  },
  { state: 'reconciliation', tables: ['reconciliation_state'] },
];

describe('fail closed when a safety state cannot be read (e2e)', () => {
  let t: TestApp;
  let pool: Pool;
  let redis: Redis;
  let n = 0;

  beforeAll(async () => {
    t = await startTestApp();
    pool = new Pool({ connectionString: t.database.url, max: 2 });
    redis = new Redis(TEST_REDIS_URL);
  });
  afterAll(async () => {
    redis?.disconnect();
    await pool?.end();
    await t?.close();
  });

  const submit = () =>
    t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'FCL', side: 'buy', qty: 1, order_type: 'limit', limit_price: '1', idempotency_key: `n${n++}` });

  async function cutOff(s: StateUnderTest): Promise<PoolClient> {
    const client = await pool.connect();
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${s.tables.join(', ')} IN ACCESS EXCLUSIVE MODE`);
    if (s.redisKey) await redis.del(`${t.config.redis.keyPrefix}${s.redisKey}`);
    return client;
  }

  it.each(STATES)('$state: exposure refused with 503 naming it; cancels pass; recovers', async (s) => {
    const before = await submit();
    expect(before.status).toBe(201);
    const lock = await cutOff(s);
    try {
      const refused = await eventually(submit, (r) => r.status === 503, 5_000);
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ error: 'SAFETY_STATE_UNAVAILABLE', details: { state: s.state } });
      const cancel = await t.http.post(`/api/v1/orders/${before.body.client_order_id as string}/cancel`).set(auth);
      expect(cancel.status).toBe(200);
    } finally {
      await lock.query('ROLLBACK');
      lock.release();
    }
    const after = await eventually(submit, (r) => r.status === 201, 5_000);
    expect(after.status).toBe(201);
  });
  it('the exposure itself cannot be read: 503, nothing written, and the next order passes', async () => {
    const read = jest.spyOn(t.app.get(ExposureRepository), 'read').mockRejectedValueOnce(new Error('connection lost'));
    const res = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'FCX', side: 'buy', qty: 1, order_type: 'limit', limit_price: '1' });
    expect(read).toHaveBeenCalled();
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('SAFETY_STATE_UNAVAILABLE');
    const id = res.body.details.client_order_id as string;
    expect(await t.db.query('SELECT 1 FROM orders WHERE client_order_id = $1', [id])).toHaveLength(0);
    read.mockRestore();
    const again = await t.http
      .post('/api/v1/orders')
      .set(auth)
      .send({ symbol: 'FCX', side: 'buy', qty: 1, order_type: 'limit', limit_price: '1' });
    expect(again.status).toBe(201);
  });
});
