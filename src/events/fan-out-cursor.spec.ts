import fc from 'fast-check';
import { FanOutCursor, FanOutRead } from './fan-out-cursor';

/** Runs the cursor against an outbox holding `rows`, as the hub does; returns what was delivered. */
function drain(cursor: FanOutCursor, rows: readonly number[], batch = 3): number[] {
  const out: number[] = [];
  for (let read = cursor.next(); read; read = cursor.next()) {
    const found = read.kind === 'range' ? inRange(rows, read, batch) : rows.filter((id) => read.ids.includes(id));
    out.push(...cursor.took(read, found, read.kind === 'ids' || found.length < batch));
  }
  return out;
}

function inRange(rows: readonly number[], read: FanOutRead & { kind: 'range' }, batch: number): number[] {
  return rows.filter((id) => id > read.afterId && id <= read.throughId).slice(0, batch);
}

describe('FanOutCursor', () => {
  it('reads the range up to an announced id, in order, and moves to the last id found', () => {
    const c = new FanOutCursor(10);
    c.announce(14);
    expect(c.next()).toEqual({ kind: 'range', afterId: 10, throughId: 14 });
    expect(drain(new FanOutCursor(10), [])).toEqual([]);
    c.announce(14);
    expect(drain(c, [11, 12, 13, 14])).toEqual([11, 12, 13, 14]);
    expect(c.position).toBe(14);
  });

  it('an id absent from the outbox delivers nothing and moves nothing', () => {
    const c = new FanOutCursor(5);
    c.announce(999_999_999);
    expect(drain(c, [1, 2, 3, 4, 5])).toEqual([]);
    expect(c.position).toBe(5);
    c.announce(3);
    c.announce(77);
    expect(drain(c, [1, 2, 4, 5])).toEqual([]);
    expect(c.position).toBe(5);
  });

  it('a forged high id makes nothing skip: the real events after it still go out, in order', () => {
    const c = new FanOutCursor(0);
    c.announce(1_000_000);
    expect(drain(c, [1, 2])).toEqual([1, 2]);
    expect(c.position).toBe(2);
    c.announce(3);
    expect(drain(c, [1, 2, 3])).toEqual([3]);
  });

  it('an event committed after a later one was read is read on its own, once', () => {
    const c = new FanOutCursor(0);
    // 2 is not committed yet when 3 is announced.
    c.announce(3);
    expect(drain(c, [1, 3])).toEqual([1, 3]);
    c.announce(2);
    expect(c.next()).toEqual({ kind: 'ids', ids: [2] });
    c.announce(2);
    expect(drain(c, [1, 2, 3])).toEqual([2]);
    c.announce(2);
    c.announce(3);
    expect(c.next()).toBeUndefined();
  });

  it('a failed read waits again', () => {
    const c = new FanOutCursor(0);
    c.announce(2);
    const read = c.next()!;
    c.failed(read);
    expect(drain(c, [1, 2])).toEqual([1, 2]);
    c.announce(1);
    c.announce(2);
    expect(c.next()).toBeUndefined();
  });

  it('skipTo moves forward only and forgets what waited below it', () => {
    const c = new FanOutCursor(10);
    c.announce(12);
    c.announce(4);
    c.skipTo(12);
    expect(c.next()).toBeUndefined();
    c.skipTo(3);
    expect(c.position).toBe(12);
    c.announce(15);
    c.skipTo(13);
    expect(c.next()).toEqual({ kind: 'range', afterId: 13, throughId: 15 });
  });

  it('what waits stays bounded', () => {
    const c = new FanOutCursor(100_000, { maxWaitingIds: 3, rememberDelivered: 5 });
    for (let id = 1; id <= 50; id++) c.announce(id);
    expect(c.next()).toEqual({ kind: 'ids', ids: [1, 2, 3] });
  });

  it('property: whatever ids are announced (forged ones too), every delivery is an outbox row, once, and every announced row goes out', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        (rowIds, forged, batch) => {
          const rows = [...rowIds].sort((a, b) => a - b);
          const c = new FanOutCursor(0);
          const delivered: number[] = [];
          // Rows become visible one by one in a shuffled (commit) order, each announced; forged ids in between.
          const visible: number[] = [];
          rowIds.forEach((id, i) => {
            visible.push(id);
            visible.sort((a, b) => a - b);
            if (forged[i] !== undefined) c.announce(forged[i]);
            c.announce(id);
            delivered.push(...drain(c, visible, batch));
          });
          expect(new Set(delivered).size).toBe(delivered.length);
          expect([...delivered].sort((a, b) => a - b)).toEqual(rows);
          expect(c.position).toBe(rows.at(-1) ?? 0);
        },
      ),
    );
  });
});
