/**
 * RedisStateStore against a real Redis: the same contracts the in-process
 * store's unit specs run (sliding window for rate limits, set-if-absent for
 * the signed-call replay cache), each suite under a key prefix of its own.
 */
import { RedisStateStore } from '../../../src/infra/state/redis-state-store';
import { setIfAbsentContract } from '../../support/set-if-absent.contract';
import { slidingWindowContract } from '../../support/sliding-window.contract';
import { TEST_REDIS_URL, testRedisPrefix } from '../../support/redis-keys';

describe('RedisStateStore.slidingWindowHit (the rate limiter across replicas)', () => {
  let store: RedisStateStore;
  let n = 0;
  beforeAll(async () => {
    store = await RedisStateStore.connect(TEST_REDIS_URL, testRedisPrefix('rlw'));
  });
  afterAll(async () => {
    await store?.close();
  });

  slidingWindowContract(
    () => store,
    () => `k${++n}`,
  );

  it('expires the whole window key after the window', async () => {
    await store.slidingWindowHit('ttl', 5, 60_000, Date.now());
    const ttl = await store.client.pttl('ttl');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});

describe('RedisStateStore.setIfAbsent (the replay cache across replicas)', () => {
  let store: RedisStateStore;
  let n = 0;
  const prefix = testRedisPrefix('sia');
  beforeAll(async () => {
    store = await RedisStateStore.connect(TEST_REDIS_URL, prefix);
  });
  afterAll(async () => {
    await store?.close();
  });
  setIfAbsentContract(
    () => store,
    () => `k${++n}`,
  );
});
