import { StateStore } from '../../src/infra/state/state-store';

/**
 * The atomic "set if absent, with a ttl" every StateStore must have (the
 * replay cache of service signing rests on it); run against the in-memory
 * store (unit) and Redis (e2e). `key()` gives a fresh key per test. Real time:
 * ttls are short and the waits generous.
 */
export function setIfAbsentContract(getStore: () => StateStore, key: () => string): void {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('the first call sets the key and answers true; later calls answer false and change nothing', async () => {
    const store = getStore();
    const k = key();
    expect(await store.setIfAbsent(k, 'first', 60_000)).toBe(true);
    expect(await store.setIfAbsent(k, 'second', 60_000)).toBe(false);
    expect(await store.get(k)).toBe('first');
  });

  it('a key set by set() counts as present', async () => {
    const store = getStore();
    const k = key();
    await store.set(k, 'plain');
    expect(await store.setIfAbsent(k, 'other', 60_000)).toBe(false);
    expect(await store.get(k)).toBe('plain');
  });

  it('of many concurrent callers on one key exactly one wins', async () => {
    const store = getStore();
    const k = key();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.setIfAbsent(k, `v${i}`, 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.get(k)).toBe(`v${results.indexOf(true)}`);
  });

  it('keys are independent', async () => {
    const store = getStore();
    const [a, b] = [key(), key()];
    expect(await store.setIfAbsent(a, '1', 60_000)).toBe(true);
    expect(await store.setIfAbsent(b, '2', 60_000)).toBe(true);
    expect(await store.get(a)).toBe('1');
    expect(await store.get(b)).toBe('2');
  });

  it('the key expires after its ttl and can then be set again', async () => {
    const store = getStore();
    const k = key();
    expect(await store.setIfAbsent(k, 'v1', 150)).toBe(true);
    expect(await store.setIfAbsent(k, 'v2', 150)).toBe(false);
    await sleep(400);
    expect(await store.get(k)).toBeNull();
    expect(await store.setIfAbsent(k, 'v3', 60_000)).toBe(true);
    expect(await store.get(k)).toBe('v3');
  });

  it('a refused call does not extend the ttl of the present key', async () => {
    const store = getStore();
    const k = key();
    expect(await store.setIfAbsent(k, 'v1', 300)).toBe(true);
    await sleep(150);
    expect(await store.setIfAbsent(k, 'v2', 60_000)).toBe(false);
    await sleep(400);
    expect(await store.get(k)).toBeNull();
  });

  it('refuses a ttl that is not a positive integer', async () => {
    const store = getStore();
    for (const ttl of [0, -1, 1.5, Number.NaN]) {
      await expect(store.setIfAbsent(key(), 'v', ttl)).rejects.toThrow(RangeError);
    }
  });
}
