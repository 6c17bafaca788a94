import { Logger } from '@nestjs/common';
import { SystemScheduler } from './scheduler';

const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Real timers under a loaded machine: wait for what must happen, up to a generous bound, instead of a fixed time. */
async function until(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await realSleep(5);
  }
}

describe('SystemScheduler', () => {
  const scheduler = new SystemScheduler();
  let errorLog: jest.SpyInstance;

  beforeEach(() => {
    errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => errorLog.mockRestore());

  it('runs an `every` task repeatedly until canceled', async () => {
    let runs = 0;
    const handle = scheduler.every(10, () => void runs++);
    await until(() => runs >= 2);
    handle.cancel();
    const seen = runs;
    expect(seen).toBeGreaterThanOrEqual(2);
    await realSleep(30);
    expect(runs).toBe(seen);
  });

  it('never overlaps runs of one task: a run still going makes the next one skipped', async () => {
    let active = 0;
    let maxActive = 0;
    let started = 0;
    const handle = scheduler.every(5, async () => {
      started++;
      active++;
      maxActive = Math.max(maxActive, active);
      await realSleep(30);
      active--;
    });
    await realSleep(80);
    handle.cancel();
    expect(maxActive).toBe(1);
    expect(started).toBeGreaterThanOrEqual(1);
    expect(started).toBeLessThanOrEqual(4);
  });

  it('logs a failing task (thrown or rejected) and keeps scheduling it', async () => {
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    try {
      let runs = 0;
      const handle = scheduler.every(
        10,
        async () => {
          runs++;
          throw new Error('boom');
        },
        { name: 'failing-job' },
      );
      scheduler.after(5, () => {
        throw new Error('sync boom');
      });
      await until(() => runs >= 2 && errorLog.mock.calls.length >= 3);
      handle.cancel();
      expect(runs).toBeGreaterThanOrEqual(2);
      expect(errorLog).toHaveBeenCalledWith(expect.objectContaining({ task: 'failing-job' }));
      expect(errorLog).toHaveBeenCalledWith(expect.objectContaining({ task: 'anonymous' }));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  it('runs an `after` task once, and not at all when canceled first', async () => {
    const ran: string[] = [];
    scheduler.after(5, () => void ran.push('kept'));
    scheduler.after(5, () => void ran.push('canceled')).cancel();
    await until(() => ran.length > 0);
    await realSleep(30);
    expect(ran).toEqual(['kept']);
  });

  it('sleeps, and an aborted signal ends the sleep at once without rejecting', async () => {
    const t0 = performance.now();
    await scheduler.sleep(20);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);

    const ac = new AbortController();
    const t1 = performance.now();
    const slept = scheduler.sleep(10_000, ac.signal);
    ac.abort();
    await slept;
    expect(performance.now() - t1).toBeLessThan(1000);

    await expect(scheduler.sleep(10_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});
