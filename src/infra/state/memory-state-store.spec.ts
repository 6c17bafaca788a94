import fc from 'fast-check';
import { setIfAbsentContract } from '../../../test/support/set-if-absent.contract';
import { ManualClock } from '../clock/clock';
import { MemoryStateStore } from './memory-state-store';

describe('MemoryStateStore', () => {
  let store: MemoryStateStore;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-02T15:00:00.000Z') });
    store = new MemoryStateStore();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('is the memory mode and always reachable', async () => {
    expect(store.mode).toBe('memory');
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('get of an unknown key is null', async () => {
    expect(await store.get('missing')).toBeNull();
  });

  it('set then get returns the value; set again overwrites', async () => {
    await store.set('k', 'v1');
    expect(await store.get('k')).toBe('v1');
    await store.set('k', 'v2');
    expect(await store.get('k')).toBe('v2');
  });

  it('keys are independent', async () => {
    await store.set('a', '1');
    await store.set('b', '2');
    await store.del('a');
    expect(await store.get('a')).toBeNull();
    expect(await store.get('b')).toBe('2');
  });

  it('del removes a key and is a no-op for an unknown key', async () => {
    await store.set('k', 'v');
    await store.del('k');
    expect(await store.get('k')).toBeNull();
    await expect(store.del('never-set')).resolves.toBeUndefined();
  });

  it('stores the empty string as a value, distinct from absent', async () => {
    await store.set('k', '');
    expect(await store.get('k')).toBe('');
  });

  it('a key with a ttl lives until the ttl elapses', async () => {
    await store.set('k', 'v', 1_000);
    jest.advanceTimersByTime(999);
    expect(await store.get('k')).toBe('v');
    jest.advanceTimersByTime(1);
    expect(await store.get('k')).toBeNull();
    jest.advanceTimersByTime(10_000);
    expect(await store.get('k')).toBeNull();
  });

  it('a key without a ttl never expires', async () => {
    await store.set('k', 'v');
    jest.advanceTimersByTime(365 * 86_400_000);
    expect(await store.get('k')).toBe('v');
  });

  it('setting again without a ttl clears the previous ttl (as Redis SET does)', async () => {
    await store.set('k', 'v1', 1_000);
    await store.set('k', 'v2');
    jest.advanceTimersByTime(5_000);
    expect(await store.get('k')).toBe('v2');
  });

  it('setting again with a ttl restarts it', async () => {
    await store.set('k', 'v1', 1_000);
    jest.advanceTimersByTime(800);
    await store.set('k', 'v2', 1_000);
    jest.advanceTimersByTime(800);
    expect(await store.get('k')).toBe('v2');
    jest.advanceTimersByTime(200);
    expect(await store.get('k')).toBeNull();
  });

  it('an expired key can be set again', async () => {
    await store.set('k', 'v1', 10);
    jest.advanceTimersByTime(10);
    expect(await store.get('k')).toBeNull();
    await store.set('k', 'v2', 10);
    expect(await store.get('k')).toBe('v2');
  });

  it('close drops everything', async () => {
    await store.set('a', '1');
    await store.set('b', '2', 60_000);
    await store.close();
    expect(await store.get('a')).toBeNull();
    expect(await store.get('b')).toBeNull();
  });

  it('expires on the clock it is given', async () => {
    const clock = new ManualClock();
    const manual = new MemoryStateStore(clock);
    await manual.set('k', 'v', 1_000);
    expect(await manual.setIfAbsent('k', 'w', 1_000)).toBe(false);
    clock.advance(999);
    expect(await manual.get('k')).toBe('v');
    clock.advance(1);
    expect(await manual.get('k')).toBeNull();
    expect(await manual.setIfAbsent('k', 'w', 1_000)).toBe(true);
  });

  it('expires with real time too', async () => {
    jest.useRealTimers();
    const real = new MemoryStateStore();
    await real.set('k', 'v', 100);
    expect(await real.get('k')).toBe('v');
    await new Promise((r) => setTimeout(r, 150));
    expect(await real.get('k')).toBeNull();
  });
});

describe('MemoryStateStore pub/sub', () => {
  const tick = () => new Promise((r) => setImmediate(r));

  it('delivers a message to every subscriber of the channel, on a later tick', async () => {
    const store = new MemoryStateStore();
    const a: string[] = [];
    const b: string[] = [];
    await store.subscribe('orders.events', (m) => a.push(m));
    await store.subscribe('orders.events', (m) => b.push(m));
    await store.subscribe('other', () => a.push('wrong channel'));
    await store.publish('orders.events', 'hello');
    expect(a).toEqual([]);
    await tick();
    expect(a).toEqual(['hello']);
    expect(b).toEqual(['hello']);
  });

  it('a message published with no subscriber is gone (fire and forget)', async () => {
    const store = new MemoryStateStore();
    await store.publish('orders.events', 'lost');
    const got: string[] = [];
    await store.subscribe('orders.events', (m) => got.push(m));
    await tick();
    expect(got).toEqual([]);
  });

  it('unsubscribing stops delivery to that subscription only, even for the same handler', async () => {
    const store = new MemoryStateStore();
    const got: string[] = [];
    const handler = (m: string) => got.push(m);
    const first = await store.subscribe('c', handler);
    await store.subscribe('c', handler);
    await first();
    await store.publish('c', 'x');
    await tick();
    expect(got).toEqual(['x']);
  });

  it('a throwing subscriber does not keep the message from the others', async () => {
    const store = new MemoryStateStore();
    const got: string[] = [];
    await store.subscribe('c', () => {
      throw new Error('boom');
    });
    await store.subscribe('c', (m) => got.push(m));
    await expect(store.publish('c', 'x')).resolves.toBeUndefined();
    await tick();
    expect(got).toEqual(['x']);
  });

  it('close drops every subscription', async () => {
    const store = new MemoryStateStore();
    const got: string[] = [];
    await store.subscribe('c', (m) => got.push(m));
    await store.close();
    await store.publish('c', 'x');
    await tick();
    expect(got).toEqual([]);
  });
});

describe('MemoryStateStore.setIfAbsent', () => {
  let n = 0;
  let store: MemoryStateStore;
  beforeEach(() => {
    store = new MemoryStateStore();
  });
  setIfAbsentContract(
    () => store,
    () => `k${++n}`,
  );

  it('behaves like a map of expiring entries for any sequence of calls and pauses (property)', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('put' as const),
        key: fc.constantFrom('a', 'b', 'c'),
        ttl: fc.integer({ min: 1, max: 50 }),
      }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 60 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        jest.useFakeTimers({ now: 0 });
        try {
          const s = new MemoryStateStore();
          const model = new Map<string, { value: string; expiresAt: number }>();
          for (const [i, o] of ops.entries()) {
            if (o.kind === 'wait') {
              jest.advanceTimersByTime(o.ms);
              continue;
            }
            const now = Date.now();
            const live = model.get(o.key);
            const expected = !live || live.expiresAt <= now;
            if (expected) model.set(o.key, { value: `v${i}`, expiresAt: now + o.ttl });
            expect(await s.setIfAbsent(o.key, `v${i}`, o.ttl)).toBe(expected);
            const entry = model.get(o.key)!;
            expect(await s.get(o.key)).toBe(entry.value);
          }
        } finally {
          jest.useRealTimers();
        }
      }),
    );
  });
});
