import { applyVersionedRead, CoalescedRefresher, isConfirmedWithin, ReplicatedSnapshot } from './replicated-state';

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
