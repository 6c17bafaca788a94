import fc from 'fast-check';
import { KeyedQueue } from './keyed-queue';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('KeyedQueue', () => {
  it('runs one key in order, different keys side by side', async () => {
    const q = new KeyedQueue(8);
    const log: string[] = [];
    let releaseA!: () => void;
    const a1 = new Promise<void>((r) => (releaseA = r));
    await q.push('a', async () => {
      await a1;
      log.push('a1');
    });
    await q.push('a', async () => void log.push('a2'));
    await q.push('b', async () => void log.push('b1'));
    await tick();
    expect(log).toEqual(['b1']);
    releaseA();
    await q.drain();
    expect(log).toEqual(['b1', 'a1', 'a2']);
  });

  it('makes the producer wait while maxInFlight tasks are pending', async () => {
    const q = new KeyedQueue(2);
    const releases: Array<() => void> = [];
    const block = () => new Promise<void>((r) => releases.push(r));
    await q.push('x', block);
    await q.push('y', block);
    let third = false;
    const pushed = q.push('z', async () => undefined).then(() => (third = true));
    await tick();
    expect(third).toBe(false);
    releases[0]();
    await pushed;
    expect(third).toBe(true);
    releases[1]();
    await q.drain();
  });

  it('keeps going after a task fails', async () => {
    const q = new KeyedQueue(1);
    const log: string[] = [];
    await q.push('k', async () => {
      throw new Error('boom');
    });
    await q.push('k', async () => void log.push('after'));
    await q.drain();
    expect(log).toEqual(['after']);
  });

  it('per key, tasks run in push order whatever the interleaving (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.nat(3)), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        async (items, max) => {
          const q = new KeyedQueue(max);
          const seen = new Map<string, number[]>();
          for (const [i, [key, delay]] of items.entries()) {
            await q.push(key, async () => {
              await new Promise((r) => setTimeout(r, delay));
              seen.set(key, [...(seen.get(key) ?? []), i]);
            });
          }
          await q.drain();
          for (const [key, order] of seen) {
            const expected = items
              .map(([k], i) => [k, i] as const)
              .filter(([k]) => k === key)
              .map(([, i]) => i);
            expect(order).toEqual(expected);
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});
