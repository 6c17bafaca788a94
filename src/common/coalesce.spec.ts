import { Coalescer } from './coalesce';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ([resolve, reject] = [res, rej]));
  return { promise, resolve, reject };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('Coalescer', () => {
  it('callers during a run share the next run, never the one in progress', async () => {
    const runs: Array<ReturnType<typeof deferred<number>>> = [];
    const c = new Coalescer(() => {
      const d = deferred<number>();
      runs.push(d);
      return d.promise;
    });
    const first = c.run();
    await flush();
    expect(runs).toHaveLength(1);
    const second = c.run();
    const third = c.run();
    await flush();
    expect(runs).toHaveLength(1); // waiting for the first to end
    runs[0].resolve(1);
    expect(await first).toBe(1);
    await flush();
    expect(runs).toHaveLength(2);
    runs[1].resolve(2);
    expect(await second).toBe(2);
    expect(await third).toBe(2);
    // Idle again: a new caller starts a run at once.
    const fourth = c.run();
    await flush();
    expect(runs).toHaveLength(3);
    runs[2].resolve(3);
    expect(await fourth).toBe(3);
  });

  it('a failed run rejects its callers only; the waiting callers get the next run', async () => {
    const runs: Array<ReturnType<typeof deferred<number>>> = [];
    const c = new Coalescer(() => {
      const d = deferred<number>();
      runs.push(d);
      return d.promise;
    });
    const first = c.run();
    const second = c.run();
    await flush();
    runs[0].reject(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    await flush();
    runs[1].resolve(7);
    expect(await second).toBe(7);
    const third = c.run();
    await flush();
    expect(runs).toHaveLength(3);
    runs[2].resolve(8);
    expect(await third).toBe(8);
  });

  it('a task that throws synchronously rejects its callers and leaves the coalescer usable', async () => {
    let n = 0;
    const c = new Coalescer(() => {
      n += 1;
      if (n === 1) throw new Error('sync');
      return Promise.resolve(n);
    });
    await expect(c.run()).rejects.toThrow('sync');
    expect(await c.run()).toBe(2);
  });
});
