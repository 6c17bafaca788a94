import { ManualClock } from '../infra/clock/clock';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { DueTimeHold } from './due-time-hold';

const T0 = new Date('2026-01-02T15:00:00.000Z').getTime();

describe('DueTimeHold', () => {
  function setup() {
    const clock = new ManualClock(new Date(T0));
    const scheduler = new ManualScheduler(clock);
    const released: number[][] = [];
    const hold = new DueTimeHold<number>(
      clock,
      scheduler,
      (at) => at,
      (items) => released.push(items),
    );
    return { clock, scheduler, hold, released };
  }

  it('releases what is due at once, and each later item at its time, never before', async () => {
    const { scheduler, hold, released } = setup();
    hold.add([T0 - 5, T0, T0 + 200, T0 + 200, T0 + 400]);
    expect(released).toEqual([[T0 - 5, T0]]);
    expect(hold.size).toBe(2);
    await scheduler.advance(199);
    expect(released).toHaveLength(1);
    await scheduler.advance(1);
    expect(released[1]).toEqual([T0 + 200, T0 + 200]);
    await scheduler.advance(200);
    expect(released[2]).toEqual([T0 + 400]);
    expect(hold.size).toBe(0);
    expect(await Promise.all(hold.pending())).toEqual([]);
  });

  it('releases by the Clock: after the Clock stepped back, only once it reaches the due time', async () => {
    const { clock, scheduler, hold, released } = setup();
    hold.add([T0 + 300]);
    clock.set(new Date(T0 - 1000)); // the Clock stepped back meanwhile
    await scheduler.advance(300);
    expect(released).toEqual([]);
    expect(hold.size).toBe(1);
    await scheduler.advance(1000);
    expect(released).toEqual([[T0 + 300]]);
  });

  it('never releases what was taken out', async () => {
    const { scheduler, hold, released } = setup();
    hold.add([T0 + 100, T0 + 101, T0 + 100]);
    expect(hold.remove((at) => at === T0 + 100)).toEqual([T0 + 100, T0 + 100]);
    await scheduler.advance(500);
    expect(released).toEqual([[T0 + 101]]);
    expect(hold.size).toBe(0);
  });
});
