import { ManualClock } from './clock';
import { ManualScheduler } from './manual-scheduler';

const T0 = new Date('2026-01-02T15:00:00.000Z');

describe('ManualScheduler', () => {
  let clock: ManualClock;
  let scheduler: ManualScheduler;

  beforeEach(() => {
    clock = new ManualClock(T0);
    scheduler = new ManualScheduler(clock);
  });

  const elapsed = () => clock.now().getTime() - T0.getTime();

  it('runs nothing until time is advanced, then every due run at its own time', async () => {
    const at: number[] = [];
    scheduler.every(100, () => void at.push(elapsed()));
    expect(at).toEqual([]);
    await scheduler.advance(99);
    expect(at).toEqual([]);
    await scheduler.advance(1);
    expect(at).toEqual([100]);
    await scheduler.advance(250);
    expect(at).toEqual([100, 200, 300]);
    expect(elapsed()).toBe(350);
  });

  it('fires timers in time order, ties in the order they were set', async () => {
    const order: string[] = [];
    scheduler.after(30, () => void order.push('c'));
    scheduler.after(10, () => void order.push('a'));
    scheduler.every(20, () => void order.push('every'));
    scheduler.after(20, () => void order.push('b'));
    await scheduler.advance(40);
    expect(order).toEqual(['a', 'every', 'b', 'c', 'every']);
  });

  it('waits for an async task before moving on', async () => {
    const log: string[] = [];
    scheduler.after(10, async () => {
      log.push('start');
      await Promise.resolve();
      await new Promise((r) => setImmediate(r));
      log.push('end');
    });
    await scheduler.advance(10);
    expect(log).toEqual(['start', 'end']);
  });

  it('cancel stops further runs', async () => {
    let runs = 0;
    const h = scheduler.every(10, () => void runs++);
    await scheduler.advance(25);
    h.cancel();
    h.cancel();
    await scheduler.advance(100);
    expect(runs).toBe(2);
    expect(scheduler.pending()).toEqual([]);
  });

  it('wakes a task sleeping within the advanced span, and parks one whose sleep is due later', async () => {
    const log: string[] = [];
    scheduler.after(10, async () => {
      log.push(`start@${elapsed()}`);
      await scheduler.sleep(50);
      log.push(`woke@${elapsed()}`);
    });
    await scheduler.advance(30); // parked at 30 (due at 60): advance must not hang
    expect(log).toEqual(['start@10']);
    expect(scheduler.pending()).toEqual([{ kind: 'sleep', name: undefined, dueInMs: 30 }]);
    await scheduler.advance(30);
    expect(log).toEqual(['start@10', 'woke@60']);
  });

  it('skips a due run of an `every` task whose previous run is still going', async () => {
    let started = 0;
    scheduler.every(10, async () => {
      started++;
      await scheduler.sleep(25);
    });
    await scheduler.advance(10); // run 1 starts, sleeps until 35
    await scheduler.advance(20); // 20 and 30 fall due while it sleeps: skipped
    expect(started).toBe(1);
    await scheduler.advance(10); // 35: run 1 ends; 40: run 2
    expect(started).toBe(2);
  });

  it('records a failing task instead of throwing, and keeps the schedule', async () => {
    let runs = 0;
    scheduler.every(10, () => {
      runs++;
      throw new Error(`boom ${runs}`);
    });
    await scheduler.advance(20);
    expect(runs).toBe(2);
    expect(scheduler.errors.map((e) => (e as Error).message)).toEqual(['boom 1', 'boom 2']);
  });

  it('resolves a sleep outside any task when advanced past it, or at once on abort', async () => {
    let woke = false;
    const sleeping = scheduler.sleep(100).then(() => (woke = true));
    await scheduler.advance(99);
    expect(woke).toBe(false);
    await scheduler.advance(1);
    await sleeping;
    expect(woke).toBe(true);

    const ac = new AbortController();
    const aborted = scheduler.sleep(1_000, ac.signal);
    ac.abort();
    await aborted;
    expect(scheduler.pending()).toEqual([]);
  });

  it('runDue fires what a test made due by moving the clock itself', async () => {
    let runs = 0;
    scheduler.after(0, () => void runs++);
    scheduler.after(500, () => void runs++);
    await scheduler.runDue();
    expect(runs).toBe(1);
    clock.advance(500);
    await scheduler.runDue();
    expect(runs).toBe(2);
  });

  it('sets the clock to each timer’s due time while it runs', async () => {
    const seen: string[] = [];
    scheduler.after(1_500, () => void seen.push(clock.now().toISOString()));
    await scheduler.advance(60_000);
    expect(seen).toEqual(['2026-01-02T15:00:01.500Z']);
    expect(clock.now().toISOString()).toBe('2026-01-02T15:01:00.000Z');
  });
});
