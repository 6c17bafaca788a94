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

describe('RedisStateStore.publishMany (the order-event outbox)', () => {
  let store: RedisStateStore;
  beforeAll(async () => {
    store = await RedisStateStore.connect(TEST_REDIS_URL, testRedisPrefix('pm'));
  });
  afterAll(async () => {
    await store?.close();
  });

  it('publishes every message in order, in one pipeline, and says how many went', async () => {
    const got: string[] = [];
    const unsubscribe = await store.subscribe('batch', (m) => got.push(m));
    const messages = Array.from({ length: 50 }, (_, i) => `m${i}`);
    expect(await store.publishMany('batch', messages)).toEqual({ published: 50 });
    for (let i = 0; i < 100 && got.length < 50; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(messages);
    expect(await store.publishMany('batch', [])).toEqual({ published: 0 });
    await unsubscribe();
  });

  it('with the connection gone, says none went and why', async () => {
    const gone = await RedisStateStore.connect(TEST_REDIS_URL, testRedisPrefix('pm-gone'));
    await gone.close();
    const r = await gone.publishMany('batch', ['a', 'b']);
    expect(r.published).toBe(0);
    expect(r.error).toBeInstanceOf(Error);
  });
});
