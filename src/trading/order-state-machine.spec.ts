import fc from 'fast-check';
import {
  fromBrokerStatus,
  AT_BROKER_OPEN_STATUSES,
  GATEWAY_OUTCOMES,
  MAYBE_UNSENT_STATUSES,
  isOpen,
  isTerminal,
  OPEN_STATUSES,
  TERMINAL_STATUSES,
  transition,
  TransitionRefusal,
  TRANSITIONS,
} from './order-state-machine';
import { ORDER_STATUSES, OrderStatus } from './order-status';

/*
 * The expectation is written independently of the table: a phase ordering
 * plus the few named exceptions of the module's invariants.
 */
const WORKING: OrderStatus[] = [
  'new',
  'partially_filled',
  'pending_cancel',
  'pending_replace',
  'done_for_day',
  'stopped',
  'suspended',
  'calculated',
];
const BROKER_TERMINAL: OrderStatus[] = ['filled', 'canceled', 'expired', 'rejected', 'replaced'];
const GATEWAY_TERMINAL: OrderStatus[] = [
  'dry_run',
  'failed',
  'blocked_kill_switch',
  'blocked_circuit_breaker',
  'blocked_strategy_halted',
];
/** Terminal statuses that a later fill may still turn into `filled`. */
const LATE_FILL_ACCEPTED: OrderStatus[] = ['canceled', 'expired', 'replaced'];

function phase(s: OrderStatus): number {
  if (s === 'pending_new') return 0;
  if (s === 'submitted_unconfirmed') return 1;
  if (s === 'submitted') return 2;
  if (s === 'accepted') return 3;
  if (WORKING.includes(s)) return 4;
  return 5;
}

type Expected = { applied: true } | { applied: false; reason: TransitionRefusal };

function expected(current: OrderStatus, reported: OrderStatus): Expected {
  if (current === reported) return { applied: false, reason: 'same' };
  if (phase(current) === 5) {
    return LATE_FILL_ACCEPTED.includes(current) && reported === 'filled'
      ? { applied: true }
      : { applied: false, reason: 'terminal' };
  }
  if (GATEWAY_TERMINAL.includes(reported)) {
    return current === 'pending_new' ? { applied: true } : { applied: false, reason: 'invalid' };
  }
  if (BROKER_TERMINAL.includes(reported)) return { applied: true };
  if (phase(reported) < phase(current)) return { applied: false, reason: 'stale' };
  if (reported === 'new' && (current === 'partially_filled' || current === 'stopped')) {
    return { applied: false, reason: 'stale' };
  }
  return { applied: true };
}

const PAIRS: Array<[OrderStatus, OrderStatus]> = ORDER_STATUSES.flatMap((c) =>
  ORDER_STATUSES.map((r): [OrderStatus, OrderStatus] => [c, r]),
);

describe('status sets', () => {
  it('terminal and open statuses partition the vocabulary', () => {
    expect(TERMINAL_STATUSES.size + OPEN_STATUSES.size).toBe(ORDER_STATUSES.length);
    for (const s of ORDER_STATUSES) expect(isTerminal(s)).toBe(!isOpen(s));
  });

  it('terminal statuses are the broker terminals plus the gateway outcomes; done_for_day is not terminal', () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual([...BROKER_TERMINAL, ...GATEWAY_TERMINAL].sort());
    expect([...GATEWAY_OUTCOMES].sort()).toEqual([...GATEWAY_TERMINAL].sort());
    expect(isTerminal('done_for_day')).toBe(false);
    expect(isTerminal('calculated')).toBe(false);
  });

  it('maybe-unsent statuses are the write-ahead row and the unconfirmed send; the rest of the open ones are at the broker', () => {
    expect([...MAYBE_UNSENT_STATUSES].sort()).toEqual(['pending_new', 'submitted_unconfirmed']);
    expect([...AT_BROKER_OPEN_STATUSES].sort()).toEqual(
      [...OPEN_STATUSES].filter((s) => s !== 'pending_new' && s !== 'submitted_unconfirmed').sort(),
    );
  });

  it('open statuses are exactly those in the first five phases', () => {
    expect([...OPEN_STATUSES].sort()).toEqual(ORDER_STATUSES.filter((s) => phase(s) < 5).sort());
  });
});

describe('fromBrokerStatus (Alpaca §3)', () => {
  it.each<[string, OrderStatus]>([
    ['new', 'new'],
    ['partially_filled', 'partially_filled'],
    ['filled', 'filled'],
    ['done_for_day', 'done_for_day'],
    ['canceled', 'canceled'],
    ['expired', 'expired'],
    ['replaced', 'replaced'],
    ['pending_cancel', 'pending_cancel'],
    ['pending_replace', 'pending_replace'],
    ['accepted', 'accepted'],
    ['pending_new', 'submitted'],
    ['accepted_for_bidding', 'accepted'],
    ['stopped', 'stopped'],
    ['rejected', 'rejected'],
    ['suspended', 'suspended'],
    ['calculated', 'calculated'],
    ['held', 'accepted'],
    [' Filled ', 'filled'],
  ])('%s → %s', (broker, ours) => {
    expect(fromBrokerStatus(broker)).toBe(ours);
  });

  it.each(['', 'cancelled', 'partial_fill', 'fill', 'submitted', 'submitted_unconfirmed', 'dry_run', 'failed'])(
    'unknown or gateway-only %p → null',
    (s) => {
      expect(fromBrokerStatus(s)).toBeNull();
    },
  );

  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])('object property name %p → null', (s) => {
    expect(fromBrokerStatus(s)).toBeNull();
  });

  it('maps the broker terminals (and only those) to terminal statuses; done_for_day stays open', () => {
    const terminal = ['filled', 'canceled', 'expired', 'rejected', 'replaced'];
    for (const s of [
      ...terminal,
      'new',
      'partially_filled',
      'done_for_day',
      'pending_cancel',
      'pending_replace',
      'accepted',
      'pending_new',
      'accepted_for_bidding',
      'stopped',
      'suspended',
      'calculated',
      'held',
    ]) {
      expect(isTerminal(fromBrokerStatus(s)!)).toBe(terminal.includes(s));
    }
  });

  it('never yields a gateway-only status, whatever the string', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = fromBrokerStatus(s);
        expect(r === null || !['pending_new', 'submitted_unconfirmed', ...GATEWAY_TERMINAL].includes(r)).toBe(true);
      }),
    );
  });
});

describe('transition: the whole table', () => {
  it(`covers all ${ORDER_STATUSES.length}² pairs`, () => {
    expect(PAIRS).toHaveLength(ORDER_STATUSES.length ** 2);
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...ORDER_STATUSES].sort());
  });

  it.each(PAIRS)('%s → %s', (current, reported) => {
    const want = expected(current, reported);
    const got = transition(current, reported);
    if (want.applied) {
      expect(got).toEqual({ status: reported, applied: true });
    } else {
      expect(got).toEqual({ status: current, applied: false, reason: want.reason });
    }
    expect(TRANSITIONS[current].has(reported)).toBe(want.applied);
  });
});

describe('transition: the rules by name', () => {
  const applied = (c: OrderStatus, r: OrderStatus): boolean => transition(c, r).applied;
  const reason = (c: OrderStatus, r: OrderStatus): string | undefined => transition(c, r).reason;

  it('ignores a late new/accepted/pending_new after partially_filled, filled or canceled', () => {
    for (const late of ['new', 'accepted', 'pending_new'] as const) {
      expect(reason('partially_filled', late)).toBe('stale');
      expect(reason('filled', late)).toBe('terminal');
      expect(reason('canceled', late)).toBe('terminal');
    }
  });

  it('accepts a fill that raced a cancel, an expiry or a replace, but not a partial fill', () => {
    expect(transition('canceled', 'filled')).toEqual({ status: 'filled', applied: true });
    expect(transition('expired', 'filled')).toEqual({ status: 'filled', applied: true });
    expect(transition('canceled', 'partially_filled')).toEqual({
      status: 'canceled',
      applied: false,
      reason: 'terminal',
    });
    expect(reason('expired', 'partially_filled')).toBe('terminal');
    expect(transition('replaced', 'filled')).toEqual({ status: 'filled', applied: true });
    expect(reason('replaced', 'partially_filled')).toBe('terminal');
    expect(reason('rejected', 'filled')).toBe('terminal');
  });

  it('filled, rejected and the gateway outcomes never change', () => {
    for (const t of ['filled', 'rejected', ...GATEWAY_TERMINAL] as OrderStatus[]) {
      expect(TRANSITIONS[t].size).toBe(0);
    }
  });

  it('pending_cancel: canceled, filled, or back to working when the cancel is rejected', () => {
    for (const r of ['canceled', 'filled', 'partially_filled', 'new'] as const) {
      expect(applied('pending_cancel', r)).toBe(true);
    }
    expect(reason('pending_cancel', 'accepted')).toBe('stale');
  });

  it('pending_replace: replaced, new, partially_filled, filled', () => {
    for (const r of ['replaced', 'new', 'partially_filled', 'filled'] as const) {
      expect(applied('pending_replace', r)).toBe(true);
    }
  });

  it('done_for_day is dormant: it resumes, fills, or ends', () => {
    for (const r of ['new', 'partially_filled', 'filled', 'canceled', 'expired'] as const) {
      expect(applied('done_for_day', r)).toBe(true);
    }
  });

  it('pending_new (write-ahead) may go to the gateway outcomes and to anything the broker says', () => {
    for (const r of [
      'submitted',
      'submitted_unconfirmed',
      'accepted',
      'new',
      'partially_filled',
      'filled',
      'rejected',
      'canceled',
      'expired',
      'dry_run',
      'failed',
      'blocked_kill_switch',
      'blocked_circuit_breaker',
      'blocked_strategy_halted',
    ] as const) {
      expect(applied('pending_new', r)).toBe(true);
    }
  });

  it('submitted_unconfirmed is resolved only by the broker: rejected yes, failed/dry_run/blocked never', () => {
    for (const r of ['submitted', 'accepted', 'new', 'partially_filled', 'filled', 'rejected', 'canceled'] as const) {
      expect(applied('submitted_unconfirmed', r)).toBe(true);
    }
    for (const r of GATEWAY_TERMINAL) expect(reason('submitted_unconfirmed', r)).toBe('invalid');
    expect(reason('submitted_unconfirmed', 'pending_new')).toBe('stale');
    expect(reason('submitted', 'submitted_unconfirmed')).toBe('stale');
  });

  it('every broker terminal ends every open order (no order stays open against the broker)', () => {
    for (const c of OPEN_STATUSES) {
      for (const r of BROKER_TERMINAL) expect(applied(c, r)).toBe(true);
    }
  });

  it('partially_filled → partially_filled is same (fills progress separately)', () => {
    expect(transition('partially_filled', 'partially_filled')).toEqual({
      status: 'partially_filled',
      applied: false,
      reason: 'same',
    });
  });

  it('a broker-reported pending_new after submission is not a step back to unsent', () => {
    const reported = fromBrokerStatus('pending_new')!;
    expect(transition('pending_new', reported)).toEqual({ status: 'submitted', applied: true });
    expect(transition('submitted_unconfirmed', reported)).toEqual({ status: 'submitted', applied: true });
    expect(reason('new', reported)).toBe('stale');
  });
});

describe('transition: properties over report sequences', () => {
  const statusArb = fc.constantFrom(...ORDER_STATUSES);
  const reportsArb = fc.array(statusArb, { maxLength: 40 });

  /** Runs the reports from pending_new; returns the status after each. */
  function run(reports: OrderStatus[], start: OrderStatus = 'pending_new'): OrderStatus[] {
    const trail: OrderStatus[] = [];
    let s = start;
    for (const r of reports) {
      s = transition(s, r).status;
      trail.push(s);
    }
    return trail;
  }

  it('(a) once terminal, only canceled/expired → filled can change the status, and at most once', () => {
    fc.assert(
      fc.property(reportsArb, (reports) => {
        const trail = run(reports);
        const firstTerminal = trail.findIndex(isTerminal);
        if (firstTerminal === -1) return;
        const after = trail.slice(firstTerminal);
        const changes = after.flatMap((s, i) => (i > 0 && s !== after[i - 1] ? [[after[i - 1], s]] : []));
        expect(changes.length).toBeLessThanOrEqual(1);
        for (const [from, to] of changes) {
          expect(LATE_FILL_ACCEPTED).toContain(from);
          expect(to).toBe('filled');
        }
        for (const s of after) expect(isTerminal(s)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('(b) the phase never decreases, and no pre-working status follows partially_filled', () => {
    fc.assert(
      fc.property(statusArb, reportsArb, (start, reports) => {
        const trail = [start, ...run(reports, start)];
        for (let i = 1; i < trail.length; i++) {
          expect(phase(trail[i])).toBeGreaterThanOrEqual(phase(trail[i - 1]));
        }
        const pf = trail.indexOf('partially_filled');
        if (pf !== -1) {
          for (const s of trail.slice(pf)) expect(phase(s)).toBeGreaterThanOrEqual(4);
          expect(trail[pf + 1]).not.toBe('new');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('(c) applying a report twice is applying it once (idempotent, also for whole replays)', () => {
    fc.assert(
      fc.property(statusArb, reportsArb, (start, reports) => {
        for (const r of reports) {
          const once = transition(start, r);
          const twice = transition(once.status, r);
          expect(twice.status).toBe(once.status);
          expect(twice.applied).toBe(false);
        }
        const doubled = reports.flatMap((r) => [r, r]);
        expect(run(doubled, start).at(-1) ?? start).toBe(run(reports, start).at(-1) ?? start);
      }),
      { numRuns: 2000 },
    );
  });

  it('(d) the result is always in the vocabulary, and `applied` means status = reported', () => {
    fc.assert(
      fc.property(statusArb, statusArb, (c, r) => {
        const t = transition(c, r);
        expect(ORDER_STATUSES).toContain(t.status);
        expect(t.status).toBe(t.applied ? r : c);
        if (t.applied) expect(t.reason).toBeUndefined();
        else expect(['same', 'stale', 'terminal', 'invalid']).toContain(t.reason);
      }),
    );
  });

  it('replaying earlier reports (a channel that re-sends history) never moves an order back a phase', () => {
    fc.assert(
      fc.property(reportsArb, fc.nat(), (reports, cut) => {
        const end = run(reports).at(-1) ?? 'pending_new';
        const prefix = reports.slice(0, reports.length ? cut % (reports.length + 1) : 0);
        const replayed = run(prefix, end).at(-1) ?? end;
        // Only the late fill after a cancel/expiry can still move a terminal order, and only forward.
        expect(phase(replayed)).toBeGreaterThanOrEqual(phase(end));
        if (isTerminal(end) && replayed !== end) {
          expect(LATE_FILL_ACCEPTED).toContain(end);
          expect(replayed).toBe('filled');
        }
      }),
      { numRuns: 1000 },
    );
  });
});
