import fc from 'fast-check';
import type { SliceRow, TwapPlan } from '../persistence/twap.repository';
import { committedQty, decideDueSlices, exposureOf, isSettled, sentQtyOf, SliceSnapshot } from './carry-forward';
import { toPlanView } from './plan-view';
import { planSlices } from './twap-plan';

const T0 = new Date('2026-01-02T15:00:00.000Z');
const GRACE_MS = 60_000;
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function plan(qty: number, minutes: number, interval: number): SliceSnapshot[] {
  return planSlices(qty, minutes, interval, T0).map((s) => ({
    sliceNum: s.sliceNum,
    plannedQty: s.qty,
    scheduledTime: s.scheduledTime,
    state: 'scheduled',
    sentQty: null,
    child: null,
  }));
}

/** Applies a tick's actions to the snapshot, as the dispatcher does when it claims. */
function apply(slices: SliceSnapshot[], now: Date): ReturnType<typeof decideDueSlices> {
  const actions = decideDueSlices(
    slices.reduce((n, s) => n + s.plannedQty, 0),
    slices,
    now,
    GRACE_MS,
  );
  for (const a of actions) {
    const s = slices[a.sliceNum];
    if (a.kind === 'send') Object.assign(s, { state: 'sending', sentQty: a.qty });
    else s.state = a.kind === 'expire' ? 'expired' : 'skipped';
  }
  return actions;
}

/** The plan view's `sent_qty` over these slices, as GET /orders/{parent_id}/slices computes it. */
function viewSentQty(slices: SliceSnapshot[], total: number): number {
  const plan = { parentOrderId: 'p', side: 'buy', totalQty: total, createdAt: T0, arrivalPrice: null } as TwapPlan;
  const rows = slices.map((s): SliceRow => ({
    ...s,
    clientOrderId: `p-s${s.sliceNum}`,
    claimedAt: null,
    sentAt: null,
    reasonCode: null,
    childStatus: s.child ? (s.child.open ? 'new' : 'canceled') : null,
    childFilledAvgPrice: s.child && s.child.filledQty > 0 ? '100' : null,
  }));
  return toPlanView(plan, rows).sent_qty;
}

describe('carry-forward', () => {
  it('sends each due slice with its planned quantity when nothing was lost', () => {
    const slices = plan(10, 3, 60);
    expect(apply(slices, at(0))).toEqual([{ kind: 'send', sliceNum: 0, qty: 4, carried: 0 }]);
    expect(apply(slices, at(0))).toEqual([]); // nothing more is due
    Object.assign(slices[0], { state: 'sent', child: { open: false, filledQty: 4 } });
    expect(apply(slices, at(60))).toEqual([{ kind: 'send', sliceNum: 1, qty: 3, carried: 0 }]);
  });

  it('carries a rejected slice into the next one, and a blocked one too', () => {
    const slices = plan(9, 3, 60);
    apply(slices, at(0));
    Object.assign(slices[0], { state: 'sent', child: { open: false, filledQty: 0 } }); // rejected by the broker
    expect(apply(slices, at(60))).toEqual([{ kind: 'send', sliceNum: 1, qty: 6, carried: 3 }]);
    Object.assign(slices[1], { state: 'blocked_kill_switch', child: null });
    expect(apply(slices, at(120))).toEqual([{ kind: 'send', sliceNum: 2, qty: 9, carried: 6 }]);
  });

  it('carries a slice blocked at the door, whose order row was written blocked and never sent', () => {
    const slices = plan(9, 3, 60);
    apply(slices, at(0));
    Object.assign(slices[0], { state: 'blocked_circuit_breaker', child: { open: false, filledQty: 0 } });
    expect(exposureOf(slices)).toBe(6);
    expect(apply(slices, at(60))).toEqual([{ kind: 'send', sliceNum: 1, qty: 6, carried: 3 }]);
  });

  it('claimed ahead (dueBy): a slice due by then is sent, never expired for the look-ahead; later ones wait', () => {
    const slices = plan(9, 3, 60);
    apply(slices, at(0));
    Object.assign(slices[0], { state: 'sent', child: { open: false, filledQty: 3 } });
    const total = 9;
    // 0.5 s before slice 1 is due, claiming 0.5 s ahead: slice 1 goes with its quantity.
    expect(decideDueSlices(total, slices, new Date(at(60).getTime() - 500), GRACE_MS, at(60))).toEqual([
      { kind: 'send', sliceNum: 1, qty: 3, carried: 0 },
    ]);
    expect(decideDueSlices(total, slices, new Date(at(60).getTime() - 501), GRACE_MS, at(59.999))).toEqual([]);
    // Lateness is judged at `now`, not at the horizon: a slice late by just under the grace is still sent.
    expect(decideDueSlices(total, slices, new Date(at(120).getTime() - 1), GRACE_MS, at(121))).toEqual([
      { kind: 'send', sliceNum: 1, qty: 3, carried: 0 },
      { kind: 'send', sliceNum: 2, qty: 3, carried: 0 },
    ]);
  });

  it('carries the unfilled rest of a partial fill once its order has ended', () => {
    const slices = plan(9, 3, 60);
    apply(slices, at(0));
    Object.assign(slices[0], { state: 'sent', child: { open: true, filledQty: 1 } });
    // Still open: its whole sent quantity may fill.
    expect(apply(slices, at(60))).toEqual([{ kind: 'send', sliceNum: 1, qty: 3, carried: 0 }]);
    Object.assign(slices[0], { child: { open: false, filledQty: 1 } }); // canceled after 1
    Object.assign(slices[1], { state: 'sent', child: { open: false, filledQty: 3 } });
    expect(apply(slices, at(120))).toEqual([{ kind: 'send', sliceNum: 2, qty: 5, carried: 2 }]);
  });

  it('expires a slice late by the grace or more and carries its quantity; sends one late by less', () => {
    const slices = plan(9, 3, 60);
    apply(slices, at(0));
    Object.assign(slices[0], { state: 'sent', child: { open: false, filledQty: 3 } });
    // Outage: slice 1 (due 60) is 60 s late at 120, slice 2 (due 120) is on time.
    expect(apply(slices, at(120))).toEqual([
      { kind: 'expire', sliceNum: 1, lateMs: 60_000 },
      { kind: 'send', sliceNum: 2, qty: 6, carried: 3 },
    ]);
    const late = plan(9, 3, 60);
    expect(apply(late, at(59.999))).toEqual([{ kind: 'send', sliceNum: 0, qty: 3, carried: 0 }]);
  });

  it("sent_qty counts what is working or filled: a rejected slice's carried quantity is not counted twice", () => {
    const slices = plan(9, 3, 60);
    apply(slices, at(0));
    Object.assign(slices[0], { state: 'sent', child: { open: false, filledQty: 3 } });
    apply(slices, at(60));
    Object.assign(slices[1], { state: 'sent', child: { open: false, filledQty: 0 } }); // rejected
    expect(apply(slices, at(120))).toEqual([{ kind: 'send', sliceNum: 2, qty: 6, carried: 3 }]);
    expect(viewSentQty(slices, 9)).toBe(3); // slice 2 claimed, its order not written yet
    Object.assign(slices[2], { state: 'sent', child: { open: true, filledQty: 2 } });
    expect(viewSentQty(slices, 9)).toBe(9); // working: its whole quantity
    Object.assign(slices[2], { child: { open: false, filledQty: 2 } }); // canceled after 2
    expect(slices.map(sentQtyOf)).toEqual([3, 0, 2]);
    expect(viewSentQty(slices, 9)).toBe(5);
    // A blocked slice's order row holds nothing; a dry_run order is recorded with its quantity.
    expect(sentQtyOf({ ...slices[1], state: 'blocked_kill_switch' })).toBe(0);
    expect(sentQtyOf({ ...slices[1], child: { open: false, filledQty: 0, dryRun: true } })).toBe(3);
  });

  it('counts a dry_run child as committed (nothing to carry)', () => {
    const s: SliceSnapshot = {
      sliceNum: 0,
      plannedQty: 5,
      scheduledTime: T0,
      state: 'sent',
      sentQty: 5,
      child: { open: false, filledQty: 0, dryRun: true },
    };
    expect(committedQty(s)).toBe(5);
  });

  type Outcome =
    | { kind: 'fill' }
    | { kind: 'partial'; frac: number }
    | { kind: 'cancel'; frac: number }
    | { kind: 'reject' }
    | { kind: 'blocked' };
  const frac = fc.double({ min: 0, max: 1, noNaN: true });
  const outcome = fc.oneof(
    fc.constant<Outcome>({ kind: 'fill' }),
    fc.record({ kind: fc.constant<'partial'>('partial'), frac }),
    fc.record({ kind: fc.constant<'cancel'>('cancel'), frac }),
    fc.constant<Outcome>({ kind: 'reject' }),
    fc.constant<Outcome>({ kind: 'blocked' }),
  );
  const filledBy = (o: Outcome, qty: number): number =>
    o.kind === 'fill' ? qty : o.kind === 'partial' || o.kind === 'cancel' ? Math.floor(qty * o.frac) : 0;

  it('property: whatever the fills, rejections, cancels, lateness and open orders, the plan never overfills', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.constantFrom(10, 30, 60, 90),
        fc.integer({ min: 0, max: 500 }),
        fc.array(
          fc.record({
            late: fc.integer({ min: 0, max: 150 }),
            outcome,
            settleAfter: fc.nat(3),
            // DELETE of the plan: unsent slices end `canceled`, open children are canceled as they stand.
            cancelPlan: fc.integer({ min: 0, max: 30 }).map((n) => n === 0),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (minutes, interval, extra, steps) => {
          const slices = plan(Math.ceil((minutes * 60) / interval) + extra, minutes, interval);
          const total = slices.reduce((n, s) => n + s.plannedQty, 0);
          const pending: Array<{ num: number; outcome: Outcome; ticks: number }> = [];
          let clock = 0;
          for (const step of steps) {
            clock += step.late;
            for (const p of pending) p.ticks -= 1;
            for (const p of pending.filter((q) => q.ticks < 0)) {
              const s = slices[p.num];
              s.child = { open: false, filledQty: filledBy(p.outcome, s.sentQty!) };
            }
            pending.splice(0, pending.length, ...pending.filter((q) => q.ticks >= 0));
            if (step.cancelPlan) {
              for (const s of slices) if (s.state === 'scheduled') s.state = 'canceled';
              for (const p of pending.splice(0)) {
                const s = slices[p.num];
                s.child = { open: false, filledQty: Math.min(s.sentQty!, filledBy(p.outcome, s.sentQty!)) };
              }
            }
            for (const a of apply(slices, at(clock))) {
              if (a.kind !== 'send') continue;
              const s = slices[a.sliceNum];
              if (step.outcome.kind === 'blocked') {
                s.state = 'blocked_circuit_breaker';
              } else {
                s.state = 'sent';
                s.child = { open: true, filledQty: 0 };
                pending.push({ num: a.sliceNum, outcome: step.outcome, ticks: step.settleAfter });
              }
            }
            // Never more at risk (filled, or open and able to fill) plus reserved than the total.
            expect(exposureOf(slices)).toBeLessThanOrEqual(total);
            const atRisk = slices.reduce((n, s) => n + committedQty(s), 0);
            expect(atRisk).toBeLessThanOrEqual(total);
            const filled = slices.reduce((n, s) => n + (s.child?.filledQty ?? 0), 0);
            expect(filled).toBeLessThanOrEqual(total);
            // The plan's sent_qty (working or filled), as the API shows it, never exceeds the total.
            const sent = viewSentQty(slices, total);
            expect(sent).toBe(slices.reduce((n, s) => n + sentQtyOf(s), 0));
            expect(sent).toBeLessThanOrEqual(total);
            expect(sent).toBeGreaterThanOrEqual(filled);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('property: nothing is lost — with every outcome known before the next slice, the last slice completes the total', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }),
        fc.integer({ min: 0, max: 200 }),
        fc.array(outcome, { minLength: 20, maxLength: 20 }),
        (n, extra, outcomes) => {
          const slices = plan(n + extra, n, 60);
          const total = n + extra;
          for (let i = 0; i < n; i++) {
            const actions = apply(slices, at(i * 60));
            expect(actions).toHaveLength(1);
            const a = actions[0];
            if (a.kind !== 'send') throw new Error('expected a send');
            const s = slices[i];
            // The last slice fills; the others do whatever they are dealt.
            const o: Outcome = i === n - 1 ? { kind: 'fill' } : outcomes[i];
            if (o.kind === 'blocked') s.state = 'blocked_kill_switch';
            else {
              s.state = 'sent';
              s.child = { open: false, filledQty: filledBy(o, a.qty) };
            }
          }
          expect(isSettled(slices)).toBe(true);
          expect(slices.reduce((x, s) => x + (s.child?.filledQty ?? 0), 0)).toBe(total);
        },
      ),
    );
  });
});
