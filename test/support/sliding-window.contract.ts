import { StateStore } from '../../src/infra/state/state-store';

/**
 * The sliding-window behaviour every StateStore must have; run against the
 * in-memory store (unit) and Redis (e2e). `key()` gives a fresh key per test.
 */
export function slidingWindowContract(getStore: () => StateStore, key: () => string): void {
  const W = 60_000;
  const T0 = 1_700_000_000_000;

  it('allows exactly `limit` hits in a window, then refuses', async () => {
    const store = getStore();
    const k = key();
    for (let i = 1; i <= 3; i++) {
      expect(await store.slidingWindowHit(k, 3, W, T0 + i)).toEqual({ allowed: true, count: i });
    }
    expect(await store.slidingWindowHit(k, 3, W, T0 + 10)).toEqual({ allowed: false, retryAfterMs: W - 9 });
  });

  it('retry-after is when the oldest counted hit leaves the window', async () => {
    const store = getStore();
    const k = key();
    await store.slidingWindowHit(k, 2, W, T0);
    await store.slidingWindowHit(k, 2, W, T0 + 20_000);
    expect(await store.slidingWindowHit(k, 2, W, T0 + 30_000)).toEqual({ allowed: false, retryAfterMs: 30_000 });
    expect(await store.slidingWindowHit(k, 2, W, T0 + 59_999)).toEqual({ allowed: false, retryAfterMs: 1 });
  });

  it('a hit leaves the window exactly `window` ms after it was made', async () => {
    const store = getStore();
    const k = key();
    expect((await store.slidingWindowHit(k, 1, W, T0)).allowed).toBe(true);
    expect((await store.slidingWindowHit(k, 1, W, T0 + W - 1)).allowed).toBe(false);
    expect(await store.slidingWindowHit(k, 1, W, T0 + W)).toEqual({ allowed: true, count: 1 });
  });

  it('the window slides: only the hits older than the window are forgotten', async () => {
    const store = getStore();
    const k = key();
    await store.slidingWindowHit(k, 3, W, T0);
    await store.slidingWindowHit(k, 3, W, T0 + 10_000);
    await store.slidingWindowHit(k, 3, W, T0 + 20_000);
    expect((await store.slidingWindowHit(k, 3, W, T0 + 30_000)).allowed).toBe(false);
    // T0 has left; T0+10s and T0+20s still count.
    expect(await store.slidingWindowHit(k, 3, W, T0 + W)).toEqual({ allowed: true, count: 3 });
    expect(await store.slidingWindowHit(k, 3, W, T0 + W + 1)).toEqual({ allowed: false, retryAfterMs: 9_999 });
  });

  it('a refused hit does not consume the budget', async () => {
    const store = getStore();
    const k = key();
    await store.slidingWindowHit(k, 2, W, T0);
    await store.slidingWindowHit(k, 2, W, T0 + 1);
    for (let i = 0; i < 10; i++) expect((await store.slidingWindowHit(k, 2, W, T0 + 100 + i)).allowed).toBe(false);
    // Were refusals counted, the window would still be full here.
    expect(await store.slidingWindowHit(k, 2, W, T0 + W + 1)).toEqual({ allowed: true, count: 1 });
    expect(await store.slidingWindowHit(k, 2, W, T0 + W + 2)).toEqual({ allowed: true, count: 2 });
  });

  it('hits at the same millisecond are counted separately', async () => {
    const store = getStore();
    const k = key();
    expect(await store.slidingWindowHit(k, 5, W, T0)).toEqual({ allowed: true, count: 1 });
    expect(await store.slidingWindowHit(k, 5, W, T0)).toEqual({ allowed: true, count: 2 });
  });

  it('keys are independent', async () => {
    const store = getStore();
    const a = key();
    const b = key();
    await store.slidingWindowHit(a, 1, W, T0);
    expect((await store.slidingWindowHit(a, 1, W, T0 + 1)).allowed).toBe(false);
    expect((await store.slidingWindowHit(b, 1, W, T0 + 1)).allowed).toBe(true);
  });

  it('a lowered limit waits for enough hits to leave', async () => {
    const store = getStore();
    const k = key();
    for (let i = 0; i < 4; i++) await store.slidingWindowHit(k, 4, W, T0 + i * 1_000);
    // Limit 2 with 4 counted: three must leave (the count must drop below 2), the third at T0+2s+W.
    expect(await store.slidingWindowHit(k, 2, W, T0 + 5_000)).toEqual({ allowed: false, retryAfterMs: W - 3_000 });
  });

  it('many hits at once: as many as fit are granted and counted, the rest refused with the retry-after of a single hit', async () => {
    const store = getStore();
    const k = key();
    await store.slidingWindowHit(k, 5, W, T0);
    expect(await store.slidingWindowHitMany(k, 5, W, T0 + 1_000, 3)).toEqual({ granted: 3, count: 4, retryAfterMs: 0 });
    expect(await store.slidingWindowHitMany(k, 5, W, T0 + 2_000, 4)).toEqual({
      granted: 1,
      count: 5,
      retryAfterMs: W - 2_000,
    });
    // Nothing refused was counted: a single hit is refused with the same retry-after.
    expect(await store.slidingWindowHit(k, 5, W, T0 + 2_000)).toEqual({ allowed: false, retryAfterMs: W - 2_000 });
    // A lowered limit with more counted than it allows grants nothing until enough leave (four of the five:
    // the fourth, made at T0 + 1 s, leaves at T0 + 1 s + W).
    expect(await store.slidingWindowHitMany(k, 2, W, T0 + 3_000, 2)).toEqual({
      granted: 0,
      count: 5,
      retryAfterMs: W - 2_000,
    });
  });

  it('many hits at once agree with as many single hits, whatever the sequence', async () => {
    const store = getStore();
    const many = key();
    const single = key();
    // A fixed pseudo-random sequence of (time step, hits, limit), the same on every store.
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    let t = T0;
    for (let step = 0; step < 60; step++) {
      t += next(3) === 0 ? next(W) : next(2_000);
      const hits = 1 + next(6);
      const limit = 3 + next(6);
      const got = await store.slidingWindowHitMany(many, limit, W, t, hits);
      let granted = 0;
      let last = await store.slidingWindowHit(single, limit, W, t);
      for (let i = 1; i < hits && last.allowed; i++) {
        granted += 1;
        last = await store.slidingWindowHit(single, limit, W, t);
      }
      if (last.allowed) granted += 1;
      expect({ step, granted: got.granted }).toEqual({ step, granted });
      if (last.allowed) expect(got).toEqual({ granted, count: last.count, retryAfterMs: 0 });
      else expect(got.retryAfterMs).toBe(last.retryAfterMs);
    }
  });
}
