import type { Logger } from '@nestjs/common';
import { ManualScheduler } from '../clock/manual-scheduler';
import { MemoryStateStore } from './memory-state-store';
import {
  applyVersionedRead,
  CoalescedRefresher,
  isConfirmedWithin,
  ReplicatedSnapshot,
  ReplicatedState,
} from './replicated-state';

type S = { version: number; tag: string };
const snap = (version: number, confirmedAt: number): ReplicatedSnapshot<S> => ({
  state: { version, tag: `v${version}` },
  confirmedAt,
});

describe('applyVersionedRead', () => {
  it('takes the first read and newer versions', () => {
    expect(applyVersionedRead(null, { version: 0, tag: 'a' }, 10)).toEqual({
      state: { version: 0, tag: 'a' },
      confirmedAt: 10,
    });
    expect(applyVersionedRead(snap(1, 10), snap(2, 0).state, 20)).toEqual(snap(2, 20));
  });

  it('never goes back to an older version read late; a same-version read confirms again', () => {
    const current = snap(3, 10);
    expect(applyVersionedRead(current, snap(2, 0).state, 500)).toBe(current);
    expect(applyVersionedRead(current, snap(3, 0).state, 500)).toEqual(snap(3, 500));
    expect(applyVersionedRead(snap(3, 500), snap(3, 0).state, 100).confirmedAt).toBe(500);
  });
});

describe('isConfirmedWithin', () => {
  it('trusts a snapshot up to exactly the maximum age, not after, and never none', () => {
    expect(isConfirmedWithin(snap(1, 1_000), 2_000, 1_000)).toBe(true);
    expect(isConfirmedWithin(snap(1, 1_000), 2_001, 1_000)).toBe(false);
    expect(isConfirmedWithin<S>(null, 0, 1_000)).toBe(false);
  });
});

describe('CoalescedRefresher', () => {
  it('shares one run between concurrent calls and runs once more for calls made during a run', async () => {
    let runs = 0;
    let release!: () => void;
    const r = new CoalescedRefresher(async () => {
      runs++;
      if (runs === 1) await new Promise<void>((res) => (release = res));
    });
    const a = r.refresh();
    const b = r.refresh();
    const c = r.refresh();
    expect(a).toBe(b);
    expect(b).toBe(c);
    release();
    await a;
    expect(runs).toBe(2);
  });

  it('settles when the read throws, and runs nothing after stop', async () => {
    let runs = 0;
    const r = new CoalescedRefresher(() => {
      runs++;
      return Promise.reject(new Error('down'));
    });
    await expect(r.refresh()).resolves.toBeUndefined();
    await r.stop();
    await r.refresh();
    expect(runs).toBe(1);
  });
});

describe('ReplicatedState', () => {
  const logger = { warn: jest.fn(), debug: jest.fn() } as unknown as Logger;
  let store: MemoryStateStore;
  let db: S | Error;
  let accepted: Array<[number, number | undefined]>;
  let replica: ReplicatedState<S>;

  beforeEach(() => {
    store = new MemoryStateStore();
    db = { version: 1, tag: 'db' };
    accepted = [];
    replica = new ReplicatedState<S>({
      name: 'test',
      what: 'state',
      logger,
      store,
      read: async () => {
        if (db instanceof Error) throw db;
        return db;
      },
      cache: { key: 'k', serialize: JSON.stringify, parse: (raw) => JSON.parse(raw) as S },
      channel: 'test.changes',
      refreshMs: 60_000,
      maxAgeMs: 1_000,
      onAccepted: (s, before) => accepted.push([s.version, before?.version]),
    });
  });
  afterEach(() => replica.stop());

  it('re-reads every refreshMs on the scheduler it is given, until stopped', async () => {
    const scheduler = new ManualScheduler();
    let reads = 0;
    const timed = new ReplicatedState<S>({
      name: 'timed',
      what: 'state',
      logger,
      store,
      read: async () => ({ version: ++reads, tag: 'db' }),
      channel: 'timed.changes',
      refreshMs: 250,
      maxAgeMs: 1_000,
      scheduler,
    });
    await timed.start();
    expect(reads).toBe(1);
    await scheduler.advance(249);
    expect(reads).toBe(1);
    await scheduler.advance(1);
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(2);
    expect(timed.snapshot?.state.version).toBe(2);
    await timed.stop();
    await scheduler.advance(10_000);
    expect(reads).toBe(2);
    expect(scheduler.pending()).toEqual([]);
  });

  it('reads PostgreSQL at start and caches it; falls back to the cache only for a version not older than held', async () => {
    await replica.start();
    expect(replica.snapshot?.state).toEqual({ version: 1, tag: 'db' });
    expect(replica.readable()).toBe(true);
    expect(JSON.parse((await store.get('k'))!)).toEqual({ version: 1, tag: 'db' });

    db = new Error('down');
    await store.set('k', JSON.stringify({ version: 0, tag: 'old' }));
    await replica.refresh();
    expect(replica.snapshot?.state.tag).toBe('db');
    await store.set('k', JSON.stringify({ version: 2, tag: 'cache' }));
    await replica.refresh();
    expect(replica.snapshot?.state.tag).toBe('cache');
    expect(accepted).toEqual([
      [1, undefined],
      [2, 1],
    ]);
  });

  it('announce takes the state at once, writes the cache and tells the others; a message triggers a read', async () => {
    const heard: string[] = [];
    await store.subscribe('test.changes', (m) => heard.push(m));
    await replica.start();
    await replica.announce({ version: 5, tag: 'new' });
    expect(replica.snapshot?.state.tag).toBe('new');
    expect(JSON.parse((await store.get('k'))!)).toEqual({ version: 5, tag: 'new' });
    await new Promise((r) => setImmediate(r));
    expect(heard).toEqual(['5']);

    db = { version: 6, tag: 'other replica' };
    await store.publish('test.changes', '6');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(replica.snapshot?.state.tag).toBe('other replica');
  });

  it('is unreadable before any read, and past maxAgeMs', async () => {
    expect(replica.readable()).toBe(false);
    await replica.start();
    const confirmedAt = replica.snapshot!.confirmedAt;
    expect(replica.readable(confirmedAt + 1_000)).toBe(true);
    expect(replica.readable(confirmedAt + 1_001)).toBe(false);
  });
});
