import fc from 'fast-check';
import { KeyedBatchQueue } from './keyed-batch-queue';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('KeyedBatchQueue', () => {
  it('hands a key the items that waited behind its running batch all at once, in order', async () => {
    const batches: Array<[string, number[]]> = [];
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const q = new KeyedBatchQueue<number>(
      async (key, items) => {
        batches.push([key, items]);
        if (items[0] === 1) await first;
      },
      { maxKeysRunning: 4, maxBatch: 100, maxPending: 1000 },
    );
    await q.push('a', 1);
    for (let i = 2; i <= 6; i++) await q.push('a', i);
    await q.push('b', 7);
    await tick();
    expect(batches).toEqual([
      ['a', [1]],
      ['b', [7]],
    ]);
    release();
    await q.drain();
    expect(batches).toEqual([
      ['a', [1]],
      ['b', [7]],
      ['a', [2, 3, 4, 5, 6]],
    ]);
  });

  it('never runs two batches of one key at once; every item runs once, per key in push order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.nat(3)), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        async (pushes, maxKeysRunning, maxBatch) => {
          const seen = new Map<string, number[]>();
          const active = new Set<string>();
          let concurrent = 0;
          let maxConcurrent = 0;
          const q = new KeyedBatchQueue<number>(
            async (key, items) => {
              expect(active.has(key)).toBe(false);
              expect(items.length).toBeLessThanOrEqual(maxBatch);
              active.add(key);
              maxConcurrent = Math.max(maxConcurrent, ++concurrent);
              await tick();
              seen.set(key, [...(seen.get(key) ?? []), ...items]);
              active.delete(key);
              concurrent--;
              if (items.includes(-1)) throw new Error('a failing batch does not stop the queue');
            },
            { maxKeysRunning, maxBatch, maxPending: 8 },
          );
          const expected = new Map<string, number[]>();
          let n = 0;
          for (const [key, delay] of pushes) {
            const item = n++;
            expected.set(key, [...(expected.get(key) ?? []), item]);
            await q.push(key, item);
            for (let i = 0; i < delay; i++) await tick();
          }
          await q.drain();
          expect(seen).toEqual(expected);
          expect(maxConcurrent).toBeLessThanOrEqual(maxKeysRunning);
        },
      ),
      { numRuns: 50 },
    );
  });
});
