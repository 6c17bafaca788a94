import fc from 'fast-check';
import { LegGroup, restingExitQty, restingExitTotal } from './exit-legs';

/** A small model of one order with legs, in whole shares: what each part filled and whether it is open. */
interface Model {
  orderClass: 'bracket' | 'oto' | 'oco';
  qty: number;
  entry: { filled: number; open: boolean };
  legs: Array<{ qty: number; filled: number; open: boolean }>;
}

const group = (m: Model): LegGroup => ({
  orderClass: m.orderClass,
  entryOpen: m.entry.open,
  entryQty: String(m.qty),
  entryFilledQty: String(m.entry.filled),
  legsFilledQty: String(m.legs.reduce((s, l) => s + l.filled, 0)),
  openLegQty: String(Math.max(0, ...m.legs.filter((l) => l.open).map((l) => l.qty - l.filled))),
});

/**
 * The most the exit side can still fill from this state without the entry of a bracket/oto filling more,
 * found by trying every sequence of one-share fills: legs only exit what the entry filled (bracket, oto), and
 * an OCO's order and its leg together exit at most its quantity. Open parts only, each within its own qty.
 */
function mostStillFillable(m: Model): number {
  const oco = m.orderClass === 'oco';
  let best = 0;
  const walk = (entryFilled: number, legFills: number[], gained: number): void => {
    best = Math.max(best, gained);
    const legsFilled = legFills.reduce((s, f) => s + f, 0);
    const room = oco ? m.qty - entryFilled - legsFilled : entryFilled - legsFilled;
    if (room <= 0) return;
    if (oco && m.entry.open && entryFilled < m.qty) walk(entryFilled + 1, legFills, gained + 1);
    m.legs.forEach((l, i) => {
      if (l.open && legFills[i] < l.qty)
        walk(
          entryFilled,
          legFills.map((f, j) => (j === i ? f + 1 : f)),
          gained + 1,
        );
    });
  };
  walk(
    m.entry.filled,
    m.legs.map((l) => l.filled),
    0,
  );
  return best;
}

/** What the exposure counters already hold of the exit: an open OCO order's own remainder; never a leg. */
const heldByCounters = (m: Model): number => (m.orderClass === 'oco' && m.entry.open ? m.qty - m.entry.filled : 0);

type Event =
  | { kind: 'entryFill'; n: number }
  | { kind: 'legFill'; leg: number; n: number }
  | { kind: 'cancelEntry' }
  | { kind: 'cancelLeg'; leg: number }
  | { kind: 'siblingCancelArrives' };

/** Applies what a broker may report, in any order; stale local states (a sibling's cancel not heard yet) included. */
function apply(m: Model, e: Event): void {
  const oco = m.orderClass === 'oco';
  const legsFilled = m.legs.reduce((s, l) => s + l.filled, 0);
  if (e.kind === 'entryFill' && m.entry.open) {
    const cap = oco ? m.qty - m.entry.filled - legsFilled : m.qty - m.entry.filled;
    const n = Math.min(e.n, cap);
    m.entry.filled += n;
    if (m.entry.filled === m.qty || (oco && n > 0 && m.entry.filled + legsFilled === m.qty)) m.entry.open = false;
  } else if (e.kind === 'legFill') {
    const leg = m.legs[e.leg % m.legs.length];
    const room = oco ? m.qty - m.entry.filled - legsFilled : m.entry.filled - legsFilled;
    const n = Math.min(e.n, leg.qty - leg.filled, Math.max(room, 0));
    if (!leg.open || n <= 0) return;
    leg.filled += n;
    if (leg.filled === leg.qty) leg.open = false;
    // An OCO's stop filled: the broker cancels the order itself.
    if (oco && !leg.open) m.entry.open = false;
  } else if (e.kind === 'cancelEntry') {
    m.entry.open = false;
    if (m.entry.filled === 0 && !oco) m.legs.forEach((l) => (l.open = false));
  } else if (e.kind === 'cancelLeg') {
    m.legs[e.leg % m.legs.length].open = false;
  } else if (e.kind === 'siblingCancelArrives') {
    if (m.legs.some((l) => l.filled > 0)) m.legs.forEach((l) => (l.open = l.open && l.filled > 0 && l.filled < l.qty));
  }
}

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('entryFill' as const), n: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('legFill' as const), leg: fc.nat(1), n: fc.integer({ min: 1, max: 6 }) }),
  fc.constant({ kind: 'cancelEntry' as const }),
  fc.record({ kind: fc.constant('cancelLeg' as const), leg: fc.nat(1) }),
  fc.constant({ kind: 'siblingCancelArrives' as const }),
);

const model: fc.Arbitrary<Model> = fc
  .record({
    orderClass: fc.constantFrom('bracket' as const, 'oto' as const, 'oco' as const),
    qty: fc.integer({ min: 1, max: 6 }),
    events: fc.array(event, { maxLength: 8 }),
  })
  .map(({ orderClass, qty, events }) => {
    const legs = orderClass === 'bracket' ? 2 : 1;
    const m: Model = {
      orderClass,
      qty,
      entry: { filled: 0, open: true },
      legs: Array.from({ length: legs }, () => ({ qty, filled: 0, open: true })),
    };
    for (const e of events) apply(m, e);
    return m;
  });

describe('restingExitQty', () => {
  it('with what the counters hold, covers the most the exit side can still fill, and adds no more (property)', () => {
    fc.assert(
      fc.property(model, (m) => {
        // The counters may hold more than can still fill (an open OCO order whose stop filled part): then the
        // legs add nothing; otherwise they add exactly what is missing.
        const held = heldByCounters(m);
        expect(held + restingExitQty(group(m)).toNumber()).toBe(Math.max(held, mostStillFillable(m)));
      }),
      { numRuns: 2000 },
    );
  });

  it("a bracket's legs hold nothing before the entry fills, and the entry's filled quantity once it has", () => {
    const g: LegGroup = {
      orderClass: 'bracket',
      entryOpen: true,
      entryQty: '10',
      entryFilledQty: '0',
      legsFilledQty: '0',
      openLegQty: '10',
    };
    expect(restingExitQty(g).toFixed()).toBe('0');
    expect(restingExitQty({ ...g, entryFilledQty: '4' }).toFixed()).toBe('4');
    expect(restingExitQty({ ...g, entryOpen: false, entryFilledQty: '10' }).toFixed()).toBe('10');
  });

  it('of a pair only one can fill: a bracket whose take-profit filled 4 of 10 holds 6, not 6 + 10', () => {
    const g: LegGroup = {
      orderClass: 'bracket',
      entryOpen: false,
      entryQty: '10',
      entryFilledQty: '10',
      legsFilledQty: '4',
      openLegQty: '10',
    };
    expect(restingExitQty(g).toFixed()).toBe('6');
  });

  it("an open oco's stop adds nothing beyond the order's own remainder; once the order is gone it holds its own", () => {
    const g: LegGroup = {
      orderClass: 'oco',
      entryOpen: true,
      entryQty: '5',
      entryFilledQty: '0',
      legsFilledQty: '0',
      openLegQty: '5',
    };
    expect(restingExitQty(g).toFixed()).toBe('0');
    expect(restingExitQty({ ...g, entryOpen: false }).toFixed()).toBe('5');
    expect(restingExitQty({ ...g, entryOpen: false, entryFilledQty: '2' }).toFixed()).toBe('3');
  });

  it('sums over the orders with legs', () => {
    const g: LegGroup = {
      orderClass: 'oto',
      entryOpen: false,
      entryQty: '3',
      entryFilledQty: '3',
      legsFilledQty: '0',
      openLegQty: '3',
    };
    expect(restingExitTotal([])).toBe('0');
    expect(restingExitTotal([g, { ...g, entryFilledQty: '1.5' }])).toBe('4.5');
  });
});
