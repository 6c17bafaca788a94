/**
 * The test harness cleans up after itself in the shared Redis
 * (test/support/redis-keys.ts): a test app deletes its keys when it closes,
 * the deletion takes only the pattern asked for, and it refuses anything
 * outside the test key space.
 */
import Redis from 'ioredis';
import { startTestApp } from '../../support/app';
import { deleteRedisKeys, TEST_REDIS_URL, testRedisPrefix, testRunId } from '../../support/redis-keys';

let redis: Redis;

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});

afterAll(async () => {
  redis.disconnect();
});

const count = async (pattern: string) => {
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    n += keys.length;
  } while (cursor !== '0');
  return n;
};

it("a prefix lives under this run's", () => {
  expect(testRedisPrefix('x')).toMatch(new RegExp(`^eg_test:${testRunId()}:x:[0-9a-f]{8}:$`));
});

it('deletes exactly the keys matching the pattern', async () => {
  const mine = testRedisPrefix('del');
  const other = testRedisPrefix('keep');
  await redis.mset(`${mine}a`, '1', `${mine}b`, '2', `${other}a`, '3');
  expect(await deleteRedisKeys(`${mine}*`)).toBe(2);
  expect(await count(`${mine}*`)).toBe(0);
  expect(await redis.get(`${other}a`)).toBe('3');
  await deleteRedisKeys(`${other}*`);
});

it('refuses a pattern outside the test key space', async () => {
  await expect(deleteRedisKeys('eg:*')).rejects.toThrow(/refusing/);
  await expect(deleteRedisKeys('*')).rejects.toThrow(/refusing/);
});

it('a test app leaves no key behind when it closes', async () => {
  const t = await startTestApp();
  const prefix = t.config.redis.keyPrefix;
  expect(await count(`${prefix}*`)).toBeGreaterThan(0); // the safety states' Redis copies, at least
  await t.close();
  expect(await count(`${prefix}*`)).toBe(0);
});
