import fc from 'fast-check';
import { exact, plain, quotient } from '../../common/decimal';
import { applyFillToPosition, FLAT, PositionState } from '../../positions/domain/position-math';
import { FillProgressError } from '../../trading/fill-progress';
import { Order } from '../../trading/order';
import { GATEWAY_OUTCOMES, TRANSITIONS } from '../../trading/order-state-machine';
import { OrderStatus } from '../../trading/order-status';
import {
  AUDITED_STATUSES,
  decideOrderUpdate,
  FillRecord,
  mayRecordFill,
  OrderEventDraft,
  OrderUpdateDecision,
  OrderUpdateReport,
  UpdateSource,
} from './order-update.decision';

import { makeOrder, NOW, report, T0 } from '../../../test/support/order-update.fixtures';

// --- a model of the database: what the use case writes, with the fills table's unique keys --------

interface Books {
  order: Order;
  position: PositionState;
  fills: FillRecord[];
  events: OrderEventDraft[];
  audits: number;
}

/** What ApplyOrderUpdateUseCase does in one unit of work; a throw writes nothing (rollback). */
function applyReport(b: Books, r: OrderUpdateReport): OrderUpdateDecision {
  const position = mayRecordFill(b.order, r) ? b.position : null;
  let d = decideOrderUpdate({ order: b.order, position, report: r, now: NOW });
  if (d.fill) {
    const f = d.fill;
    const duplicate = b.fills.some(
      (x) => x.executionId === f.executionId || (x.clientOrderId === f.clientOrderId && exact(x.cumQty).eq(f.cumQty)),
    );
    if (duplicate) d = decideOrderUpdate({ order: b.order, position, report: r, now: NOW, fillAlreadyRecorded: true });
    else b.fills.push(f);
  }
  if (d.positionChange) b.position = d.positionChange.position;
  if (d.patch) b.order = { ...b.order, ...d.patch };
  b.events.push(...d.events);
  b.audits += d.audit.length;
  return d;
}

function expectNothingWritten(d: OrderUpdateDecision): void {
  expect(d.patch).toBeNull();
  expect(d.fill).toBeNull();
  expect(d.positionChange).toBeNull();
  expect(d.events).toEqual([]);
  expect(d.audit).toEqual([]);
  expect(d.nextAttemptAt).toBeUndefined();
}

// --- generators ---------------------------------------------------------------------------------

interface Scenario {
  qty: number;
  side: 'buy' | 'sell';
  initialStatus: OrderStatus;
  knowsBrokerId: boolean;
  initialPosition: PositionState;
  reports: OrderUpdateReport[];
  picks: number[];
}

const SOURCES: UpdateSource[] = ['stream', 'webhook', 'poll', 'reconciliation'];

/** The broker's own history of one order, as reports from every channel; picked in any order, any number of times. */
const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    qty: fc.integer({ min: 1, max: 40 }),
    side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
    initialStatus: fc.constantFrom<OrderStatus>('pending_new', 'submitted_unconfirmed', 'submitted', 'accepted', 'new'),
    knowsBrokerId: fc.boolean(),
    initialPosition: fc.oneof(
      fc.constant(FLAT),
      fc
        .record({
          qty: fc.integer({ min: -30, max: 30 }).map(String),
          avgEntryPrice: fc.integer({ min: 1, max: 500 }).map(String),
          realizedPl: fc.integer({ min: -1000, max: 1000 }).map(String),
        })
        .map((p) => (p.qty === '0' ? FLAT : p)),
    ),
    execs: fc.array(fc.record({ qty: fc.integer({ min: 1, max: 12 }), cents: fc.integer({ min: 100, max: 50_000 }) }), {
      minLength: 0,
      maxLength: 6,
    }),
    cancelAfter: fc.option(fc.nat(6), { nil: null }),
    picks: fc.array(fc.nat(1000), { minLength: 1, maxLength: 40 }),
  })
  .map(({ qty, side, initialStatus, knowsBrokerId, initialPosition, execs, cancelAfter, picks }) => {
    const reports: OrderUpdateReport[] = [
      report({ status: 'pending_new', qty: String(qty), side }, { source: 'poll' }),
      report({ status: 'accepted', qty: String(qty), side }),
      report({ status: 'new', qty: String(qty), side }),
      report({ status: 'held', qty: String(qty), side }, { source: 'poll' }),
      report({ status: 'something_new', qty: String(qty), side }, { source: 'webhook' }),
    ];
    let cum = 0;
    let notional = exact('0');
    execs.forEach((e, i) => {
      const take = Math.min(e.qty, qty - cum);
      if (take <= 0) return;
      const price = plain(exact(String(e.cents)).div(100));
      cum += take;
      notional = notional.plus(exact(price).times(take));
      const avg = plain(quotient(notional, exact(String(cum))));
      const status = cum === qty ? 'filled' : 'partially_filled';
      const at = new Date(T0.getTime() + (i + 1) * 1000);
      const o = { status, qty: String(qty), side, filledQty: String(cum), filledAvgPrice: avg, filledAt: at };
      reports.push(report(o, { execution: { executionId: `x-${i}`, qty: String(take), price } }));
      reports.push(report(o, { source: SOURCES[i % SOURCES.length], at }));
      if (cancelAfter === i && cum < qty) {
        const c = { ...o, filledAt: null };
        reports.push(report({ ...c, status: 'pending_cancel' }, { source: 'poll' }));
        reports.push(report({ ...c, status: 'canceled' }, { source: 'poll' }));
      }
    });
    return {
      qty,
      side,
      initialStatus,
      knowsBrokerId,
      initialPosition,
      reports,
      picks: picks.map((p) => p % reports.length),
    };
  });

function initialBooks(s: Scenario): Books {
  return {
    order: makeOrder({
      qty: String(s.qty),
      side: s.side,
      status: s.initialStatus,
      brokerOrderId: s.knowsBrokerId ? 'b-1' : null,
      submittedAt: null,
    }),
    position: s.initialPosition,
    fills: [],
    events: [],
    audits: 0,
  };
}

const signed = (side: 'buy' | 'sell', q: string) => (side === 'buy' ? exact(q) : exact(q).neg());

// --- properties ------------------------------------------------------------------------------------

describe('decideOrderUpdate: properties', () => {
  it('applies every fill exactly once, whatever the channels, duplicates and order of the reports', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = initialBooks(s);
        let maxCum = exact('0');
        for (const i of s.picks) {
          const r = s.reports[i];
          applyReport(b, r);
          if (exact(r.order.filledQty).gt(maxCum)) maxCum = exact(r.order.filledQty);
        }
        const recorded = b.fills.reduce((sum, f) => sum.plus(f.qty), exact('0'));
        // filled_qty is the highest cumulative quantity reported, and the fills sum to it exactly.
        expect(exact(b.order.filledQty).eq(maxCum)).toBe(true);
        expect(recorded.eq(maxCum)).toBe(true);
        // No execution id or cumulative step is recorded twice.
        expect(new Set(b.fills.map((f) => f.executionId)).size).toBe(b.fills.length);
        expect(new Set(b.fills.map((f) => plain(exact(f.cumQty)))).size).toBe(b.fills.length);
        // One fill event per recorded fill.
        expect(b.events.filter((e) => e.eventType === 'order.fill')).toHaveLength(b.fills.length);
        // The whole sequence again records nothing more.
        const before = { qty: b.order.filledQty, fills: b.fills.length, position: b.position };
        for (const i of s.picks) applyReport(b, s.reports[i]);
        expect(b.order.filledQty).toBe(before.qty);
        expect(b.fills).toHaveLength(before.fills);
        expect(b.position).toEqual(before.position);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps filled_qty monotone and within the order quantity at every step', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = initialBooks(s);
        for (const i of s.picks) {
          const prev = exact(b.order.filledQty);
          applyReport(b, s.reports[i]);
          const now = exact(b.order.filledQty);
          expect(now.gte(prev)).toBe(true);
          expect(now.lte(exact(b.order.qty))).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('moves the status only along the transition table (never backwards)', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = initialBooks(s);
        for (const i of s.picks) {
          const prev = b.order.status;
          const d = applyReport(b, s.reports[i]);
          expect(d.previousStatus).toBe(prev);
          expect(d.status).toBe(b.order.status);
          if (b.order.status !== prev) expect(TRANSITIONS[prev].has(b.order.status)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('moves the position by exactly the recorded fills, priced by position math', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = initialBooks(s);
        for (const i of s.picks) applyReport(b, s.reports[i]);
        let expected = s.initialPosition;
        for (const f of b.fills) {
          const c = applyFillToPosition(expected, { side: f.side, qty: f.qty, price: f.price });
          // Each fill row carries the P&L it realized.
          expect(exact(f.realizedPl).eq(c.realizedDelta)).toBe(true);
          expected = { qty: c.qty, avgEntryPrice: c.avgEntryPrice, realizedPl: c.realizedPl };
        }
        expect(b.position).toEqual(expected);
        expect(exact(b.position.qty).eq(exact(s.initialPosition.qty).plus(signed(s.side, b.order.filledQty)))).toBe(
          true,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('is idempotent: the same report right after its decision changes nothing', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = initialBooks(s);
        for (const i of s.picks) {
          applyReport(b, s.reports[i]);
          const again = decideOrderUpdate({ order: b.order, position: b.position, report: s.reports[i], now: NOW });
          expect(again.outcome).toBe('unchanged');
          expectNothingWritten(again);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('writes one status event per status change, one fill event per fill (first), and audits the named statuses', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = initialBooks(s);
        for (const i of s.picks) {
          const prev = b.order.status;
          const d = applyReport(b, s.reports[i]);
          if (d.outcome === 'unchanged') {
            expectNothingWritten(d);
            continue;
          }
          expect(d.patch).not.toBeNull();
          const changed = d.status !== prev;
          const types = d.events.map((e) => e.eventType);
          expect(types).toEqual([...(d.fill ? ['order.fill'] : []), ...(changed ? ['order.status'] : [])]);
          const action = changed ? AUDITED_STATUSES[d.status] : undefined;
          expect(d.audit.map((a) => a.action)).toEqual(action ? [action] : []);
          expect(d.fill === null).toBe(d.positionChange === null);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('ignores every broker report about an order the gateway never sent', () => {
    fc.assert(
      fc.property(scenarioArb, fc.constantFrom(...GATEWAY_OUTCOMES), (s, status) => {
        const order = makeOrder({ qty: String(s.qty), status, brokerOrderId: null });
        for (const r of s.reports) {
          expect(mayRecordFill(order, r)).toBe(false);
          const d = decideOrderUpdate({ order, position: null, report: r, now: NOW });
          expect(d.outcome).toBe('unchanged');
          expect(d.status).toBe(status);
          expectNothingWritten(d);
          expect(d.warnings).toHaveLength(1);
        }
      }),
    );
  });

  it('decided again with the fill already recorded, moves neither filled_qty nor the position', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = initialBooks(s);
        for (const i of s.picks) {
          const r = s.reports[i];
          if (mayRecordFill(b.order, r)) {
            const d = decideOrderUpdate({
              order: b.order,
              position: b.position,
              report: r,
              now: NOW,
              fillAlreadyRecorded: true,
            });
            expect(d.fill).toBeNull();
            expect(d.positionChange).toBeNull();
            expect(d.events.some((e) => e.eventType === 'order.fill')).toBe(false);
            if (d.patch) expect(d.patch.filledQty).toBe(b.order.filledQty);
          }
          applyReport(b, r);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('needs no position when no fill is possible', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const b = initialBooks(s);
        for (const i of s.picks) {
          const r = s.reports[i];
          if (!mayRecordFill(b.order, r)) {
            const d = decideOrderUpdate({ order: b.order, position: null, report: r, now: NOW });
            expect(d.fill).toBeNull();
          }
          applyReport(b, r);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('decideOrderUpdate: examples', () => {
  it('refuses (never clips) a cumulative fill above the order quantity', () => {
    const order = makeOrder({ qty: '10' });
    const r = report({ status: 'filled', filledQty: '11', filledAvgPrice: '100' });
    expect(() => decideOrderUpdate({ order, position: FLAT, report: r, now: NOW })).toThrow(FillProgressError);
    expect(() => mayRecordFill(order, r)).toThrow(FillProgressError);
  });

  it('asks for the position when a fill is possible', () => {
    const r = report({ status: 'partially_filled', filledQty: '4', filledAvgPrice: '100' });
    expect(mayRecordFill(makeOrder(), r)).toBe(true);
    expect(() => decideOrderUpdate({ order: makeOrder(), position: null, report: r, now: NOW })).toThrow(
      /needs its locked position/,
    );
  });

  it('records 10@100 then 10@110 as 20@105, and a sale of 5@120 realizes 75', () => {
    const b: Books = { order: makeOrder({ qty: '20' }), position: FLAT, fills: [], events: [], audits: 0 };
    applyReport(b, report({ qty: '20', status: 'partially_filled', filledQty: '10', filledAvgPrice: '100' }));
    applyReport(b, report({ qty: '20', status: 'filled', filledQty: '20', filledAvgPrice: '105' }));
    expect(b.order).toMatchObject({ status: 'filled', filledQty: '20', filledAvgPrice: '105' });
    expect(b.position).toEqual({ qty: '20', avgEntryPrice: '105', realizedPl: '0' });
    expect(b.fills.map((f) => [f.executionId, f.qty, f.price])).toEqual([
      ['cum:c-1:10', '10', '100'],
      ['cum:c-1:20', '10', '110'],
    ]);
    b.order = makeOrder({ clientOrderId: 'c-2', side: 'sell', qty: '5' });
    applyReport(
      b,
      report({ clientOrderId: 'c-2', side: 'sell', qty: '5', status: 'filled', filledQty: '5', filledAvgPrice: '120' }),
    );
    expect(b.position).toEqual({ qty: '15', avgEntryPrice: '105', realizedPl: '75' });
    expect(b.fills[2].realizedPl).toBe('75');
  });

  it('adopts the broker order id and stamps submitted_at from the report', () => {
    const order = makeOrder({ status: 'submitted_unconfirmed', brokerOrderId: null, submittedAt: null });
    const d = decideOrderUpdate({
      order,
      position: null,
      report: report({ id: 'b-9', status: 'new', submittedAt: T0 }),
      now: NOW,
    });
    expect(d.outcome).toBe('applied');
    expect(d.patch).toMatchObject({ status: 'new', brokerOrderId: 'b-9', submittedAt: T0, updatedAt: NOW });
  });

  it('keeps an order canceled after a partial fill canceled, and still records a fill that raced the cancel', () => {
    const order = makeOrder({ status: 'canceled', filledQty: '4', filledAvgPrice: '100' });
    const d = decideOrderUpdate({
      order,
      position: { qty: '4', avgEntryPrice: '100', realizedPl: '0' },
      report: report({ status: 'partially_filled', filledQty: '6', filledAvgPrice: '101' }),
      now: NOW,
    });
    expect(d.status).toBe('canceled');
    expect(d.fill).toMatchObject({ qty: '2', price: '103', cumQty: '6' });
    expect(d.patch).toMatchObject({ status: 'canceled', filledQty: '6', filledAvgPrice: '101' });
  });

  it('warns about a status it does not know and changes nothing for it', () => {
    const d = decideOrderUpdate({ order: makeOrder(), position: null, report: report({ status: 'odd' }), now: NOW });
    expect(d.outcome).toBe('unchanged');
    expect(d.warnings[0]).toMatch(/unrecognised broker status "odd"/);
  });
});
