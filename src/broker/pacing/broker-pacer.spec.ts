import { ManualClock } from '../../infra/clock/clock';
import { ManualScheduler } from '../../infra/clock/manual-scheduler';
import { MemoryStateStore } from '../../infra/state/memory-state-store';
import { BrokerPacer, PACE_SHRINK_READ_MS, PACE_TRANSIT_SLACK_MS } from './broker-pacer';
import { PaceClass } from './pacing.decision';

describe('BrokerPacer', () => {
  let clock: ManualClock;
  let scheduler: ManualScheduler;
  let store: MemoryStateStore;
  const make = (budget: number, windowMs = 1_000) => new BrokerPacer({ budget, windowMs, store, clock, scheduler });

  beforeEach(() => {
    clock = new ManualClock();
    scheduler = new ManualScheduler(clock);
    store = new MemoryStateStore(clock);
  });

  const flush = () => new Promise((r) => setImmediate(r));

  it('admits submissions up to their share at once, keeps the reserve for cancels, then serves the rest as the window slides, by class', async () => {
    // A budget of 3: one call kept for cancels (cancelReserve), two for everything else.
    const pacer = make(3);
    const served: string[] = [];
    const go = (cls: PaceClass, name: string) => pacer.acquire(cls).then(() => served.push(name));
    void go('submit', 's1');
    void go('submit', 's2');
    void go('submit', 's3');
    await flush();
    expect(served).toEqual(['s1', 's2']);
    void go('read', 'r1');
    void go('submit', 's4');
    void go('cancel', 'c1');
    await flush();
    // The cancel goes at once, on the reserve, though submissions are queued.
    expect(served).toEqual(['s1', 's2', 'c1']);
    expect(pacer.backlog()).toEqual({ cancel: 0, submit: 2, read: 1 });
    void go('cancel', 'c2');
    await flush();
    expect(served).toHaveLength(3); // the window is full, reserve included
    await scheduler.advance(1_000 + PACE_TRANSIT_SLACK_MS);
    await flush();
    expect(served).toEqual(['s1', 's2', 'c1', 'c2', 's3']);
    await scheduler.advance(1_000 + PACE_TRANSIT_SLACK_MS);
    await flush();
    expect(served).toEqual(['s1', 's2', 'c1', 'c2', 's3', 's4', 'r1']);
    pacer.close();
  });

  it('tryAcquire takes a slot only with room and nobody of its class ahead; withSlot spends it once', async () => {
    const pacer = make(1);
    expect(await pacer.tryAcquire('submit')).toBe(true);
    expect(await pacer.tryAcquire('submit')).toBe(false);
    let second = false;
    await pacer.withSlot(async () => {
      await pacer.acquire('submit'); // the slot taken above
      void pacer.acquire('submit').then(
        () => (second = true),
        () => undefined,
      );
    });
    await flush();
    expect(second).toBe(false);
    await scheduler.advance(1_000 + PACE_TRANSIT_SLACK_MS);
    await flush();
    expect(second).toBe(true);
    pacer.close();
  });

  it('a tryAcquire behind calls waiting only for the store joins their line: served after them while there is room, told false once the budget is spent', async () => {
    // A budget of 10: nine for submissions.
    const pacer = make(10);
    const served: string[] = [];
    for (let i = 1; i <= 3; i++) void pacer.acquire('submit').then(() => served.push(`a${i}`));
    // Asked while those three wait for the store's answer (no timer: the budget is not known spent).
    // Calls waiting for the store's answer only: the budget is not known spent.
    expect(pacer.spent('submit')).toBe(false);
    const joined = pacer.tryAcquire('submit').then((ok) => served.push(`t:${ok}`));
    await flush();
    await joined;
    expect(served).toEqual(['a1', 'a2', 'a3', 't:true']);
    // Fill the share (9), then a waiter and a tryAcquire behind it: the store refuses, the tryAcquire is told so.
    for (let i = 0; i < 5; i++) expect(await pacer.tryAcquire('submit')).toBe(true);
    let late = false;
    void pacer.acquire('submit').then(() => (late = true));
    const told = await pacer.tryAcquire('submit');
    expect(told).toBe(false);
    expect(late).toBe(false);
    expect(pacer.backlog().submit).toBe(1);
    // With the timer set (the budget known spent), a tryAcquire answers false at once; spent says so ahead.
    expect(pacer.spent('submit')).toBe(true);
    expect(pacer.spent('cancel')).toBe(false);
    expect(await pacer.tryAcquire('submit')).toBe(false);
    await scheduler.advance(1_000 + PACE_TRANSIT_SLACK_MS);
    await flush();
    expect(late).toBe(true);
    pacer.close();
  });

  it('serves many waiters of a class per round trip to the store, oldest first', async () => {
    const pacer = make(1_000);
    // Each answer of the store takes a turn of the event loop; count the round trips and the hits of each.
    const asked: number[] = [];
    const many = store.slidingWindowHitMany.bind(store);
    store.slidingWindowHitMany = async (...args) => {
      asked.push(args[4]);
      await flush();
      return many(...args);
    };
    const served: number[] = [];
    for (let i = 0; i < 100; i++) void pacer.acquire('submit').then(() => served.push(i));
    // Asked while those wait: tryAcquire joins the same line, after them.
    const tried = pacer.tryAcquire('submit').then((ok) => served.push(ok ? 100 : -1));
    for (let i = 0; i < 10; i++) await flush();
    await tried;
    expect(served).toEqual(Array.from({ length: 101 }, (_, i) => i));
    // The first call alone (the others came while it was asked for), then 64 at once, then the rest.
    expect(asked).toEqual([1, 64, 36]);
    pacer.close();
  });

  it('a tryAcquire with nobody waiting is one round trip; with no room it is told false and counts nothing', async () => {
    const pacer = make(10);
    const spy = jest.spyOn(store, 'slidingWindowHitMany');
    for (let i = 0; i < 9; i++) expect(await pacer.tryAcquire('submit')).toBe(true);
    expect(spy).toHaveBeenCalledTimes(9);
    expect(await pacer.tryAcquire('submit')).toBe(false);
    expect(pacer.usage()).toEqual({ used: 9, budget: 10 });
    // The cancel reserve is untouched.
    expect(await pacer.tryAcquire('cancel')).toBe(true);
    pacer.close();
  });

  it('two pacers on one store share the budget', async () => {
    // A budget of 4: three for submissions, one kept for cancels.
    const a = make(4);
    const b = make(4);
    let n = 0;
    for (let i = 0; i < 5; i++) {
      void a.acquire('submit').then(
        () => n++,
        () => undefined,
      );
      void b.acquire('submit').then(
        () => n++,
        () => undefined,
      );
    }
    await flush();
    await flush();
    expect(n).toBe(3);
    a.close();
    b.close();
  });

  it('a 429 shrinks the budget for one window, for everyone on the store', async () => {
    const a = make(10);
    for (let i = 0; i < 8; i++) await a.acquire('submit');
    await a.rateLimited();
    await a.rateLimited();
    const b = make(10);
    // 8 used, shrunk to 9 then 8 (7 for submissions, 1 kept for cancels): nothing more this window.
    expect(await b.tryAcquire('submit')).toBe(false);
    expect(b.usage()).toEqual({ used: 7, budget: 8 });
    expect(await b.tryAcquire('cancel')).toBe(false);
    clock.advance(1_000 + PACE_TRANSIT_SLACK_MS);
    expect(await b.tryAcquire('submit')).toBe(true);
    expect(b.usage().budget).toBe(10);
    a.close();
    b.close();
  });

  it("reads the shrunk budget at most every PACE_SHRINK_READ_MS: another replica's 429 reaches it that much later, its own at once", async () => {
    const a = make(10, 60_000);
    const b = make(10, 60_000);
    const reads = jest.spyOn(store, 'get');
    for (let i = 0; i < 5; i++) expect(await b.tryAcquire('submit')).toBe(true);
    expect(reads).toHaveBeenCalledTimes(1);
    await a.rateLimited(); // shrunk to 9: 8 for submissions
    await a.rateLimited(); // shrunk to 8: 7 for submissions (5 used)
    // b still works from its read: room for more than the shrunk budget leaves.
    expect(await b.tryAcquire('submit')).toBe(true);
    expect(b.usage().budget).toBe(10);
    clock.advance(PACE_SHRINK_READ_MS);
    expect(await b.tryAcquire('submit')).toBe(true);
    expect(b.usage()).toEqual({ used: 7, budget: 8 });
    expect(await b.tryAcquire('submit')).toBe(false);
    // The pacer that met the 429 knows at once.
    expect(await a.tryAcquire('submit')).toBe(false);
    expect(a.usage().budget).toBe(8);
    a.close();
    b.close();
  });

  it('with the shared budget unreadable, submissions and reads fail retryably and cancels go out', async () => {
    const pacer = make(10);
    jest.spyOn(store, 'slidingWindowHitMany').mockRejectedValue(new Error('Connection is closed.'));
    const submit = pacer.acquire('submit');
    const read = pacer.acquire('read');
    const cancel = pacer.acquire('cancel');
    // The lookup a cancel makes is served as a cancel too.
    const cancelLookup = pacer.as('cancel', () => pacer.acquire('read'));
    await expect(submit).rejects.toMatchObject({ kind: 'retryable' });
    await expect(read).rejects.toMatchObject({ kind: 'retryable' });
    await expect(cancel).resolves.toBeUndefined();
    await expect(cancelLookup).resolves.toBeUndefined();
    pacer.close();
  });

  it('closing rejects the waiting calls', async () => {
    const pacer = make(1);
    await pacer.acquire('read');
    const waiting = pacer.acquire('read');
    pacer.close();
    await expect(waiting).rejects.toMatchObject({ kind: 'retryable' });
  });
});
