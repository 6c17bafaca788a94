/**
 * Redis keys written by tests. Every prefix a test uses lives under this run's
 * (`eg_test:<run>:`), so the run can remove what it wrote: each test app
 * deletes its own keys when it closes, and the global teardown deletes the
 * run's remainder (keys a replica or a lingering timer wrote late). Runs going
 * on beside this one, on the same Redis, have other run ids and are left alone.
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const TEST_KEY_ROOT = 'eg_test:';

/** Set by the global setup and inherited by every worker; a process without one (unit tests) gets its own. */
export function testRunId(): string {
  return process.env.EG_TEST_RUN_ID ?? `p${process.pid}`;
}

/** A new run id: the time, then random characters (letters and digits only, safe in a SCAN pattern). */
export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** `eg_test:<run>:[<tag>:]<random>:`: a key prefix of its own under this run's. */
export function testRedisPrefix(tag?: string): string {
  return `${TEST_KEY_ROOT}${testRunId()}:${tag ? `${tag}:` : ''}${randomBytes(4).toString('hex')}:`;
}

/** This run's keys. */
export function runKeyPattern(runId = testRunId()): string {
  return `${TEST_KEY_ROOT}${runId}:*`;
}

/** Deletes every key matching `pattern` (SCAN, then UNLINK in batches); answers how many. Only test keys. */
export async function deleteRedisKeys(pattern: string, url = TEST_REDIS_URL): Promise<number> {
  if (!pattern.startsWith(TEST_KEY_ROOT))
    throw new Error(`refusing to delete keys outside ${TEST_KEY_ROOT}: ${pattern}`);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
