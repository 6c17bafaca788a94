import { loadConfig } from '../config/app-config';
import { ManualClock } from '../infra/clock/clock';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { MemoryStateStore } from '../infra/state/memory-state-store';
import { ReduceOnlyLock } from './reduce-only-lock';

describe('ReduceOnlyLock', () => {
  let clock: ManualClock;
  let scheduler: ManualScheduler;
  let store: MemoryStateStore;
  let lock: ReduceOnlyLock;

  beforeEach(() => {
    clock = new ManualClock();
    scheduler = new ManualScheduler(clock);
    store = new MemoryStateStore(clock);
    const config = loadConfig({ REDUCE_ONLY_LOCK_TIMEOUT_SECONDS: '30', REDUCE_ONLY_LOCK_BLOCKING_SECONDS: '2' });
    lock = new ReduceOnlyLock(config, store, clock, scheduler);
  });

  it('runs one holder at a time per symbol; the second runs once the first released', async () => {
    const order: string[] = [];
    let release!: () => void;
    const first = lock.withLock('AAPL', async () => {
      order.push('first:start');
      await new Promise<void>((r) => (release = r));
      order.push('first:end');
    });
    await Promise.resolve();
    await Promise.resolve();
    const second = lock.withLock('AAPL', async () => order.push('second'));
    const other = lock.withLock('MSFT', async () => order.push('other symbol'));
    await other;
    await scheduler.advance(200);
    expect(order).toEqual(['first:start', 'other symbol']);
    release();
    await first;
    await scheduler.advance(100);
    await second;
    expect(order).toEqual(['first:start', 'other symbol', 'first:end', 'second']);
    expect(await store.get('reduce-only-lock:AAPL')).toBeNull();
  });

  it('waits at most REDUCE_ONLY_LOCK_BLOCKING_SECONDS, then 409 POSITION_BUSY; the holder keeps its lock', async () => {
    await store.set('reduce-only-lock:AAPL', 'someone-else', 30_000);
    const work = jest.fn();
    const attempt = lock.withLock('AAPL', work);
    const outcome = attempt.then(
      () => null,
      (err: { code: string }) => err.code,
    );
    await scheduler.advance(2_100);
    expect(await outcome).toBe('POSITION_BUSY');
    expect(work).not.toHaveBeenCalled();
    expect(await store.get('reduce-only-lock:AAPL')).toBe('someone-else');
  });

  it('releases on failure, and never releases a lock that is no longer its own', async () => {
    await expect(lock.withLock('AAPL', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await store.get('reduce-only-lock:AAPL')).toBeNull();
    await lock.withLock('AAPL', async () => {
      // The lock expired and someone else took it meanwhile.
      await store.set('reduce-only-lock:AAPL', 'successor', 30_000);
    });
    expect(await store.get('reduce-only-lock:AAPL')).toBe('successor');
  });

  it('refuses with 503 SAFETY_STATE_UNAVAILABLE when the store cannot be reached', async () => {
    jest.spyOn(store, 'setIfAbsent').mockRejectedValue(new Error('down'));
    await expect(lock.withLock('AAPL', async () => 'never')).rejects.toMatchObject({
      code: 'SAFETY_STATE_UNAVAILABLE',
    });
  });
});
