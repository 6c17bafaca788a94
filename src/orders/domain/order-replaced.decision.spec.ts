import fc from 'fast-check';
import { exact } from '../../common/decimal';
import { FLAT, PositionState } from '../../positions/domain/position-math';
import { Order } from '../../trading/order';
import { replacementHolds } from '../../trading/order-replace';
import { decideReplaced } from './order-replaced.decision';
import {
  decideOrderUpdate,
  FillRecord,
  mayRecordFill,
  OrderEventDraft,
  OrderUpdateDecision,
  OrderUpdateReport,
} from './order-update.decision';

import { makeOrder, NOW, report } from '../../../test/support/order-update.fixtures';

/**
 * Invariant 9 of the order-update decision: whatever the order in which the
 * broker's answer to a replace, its `replaced` report for the old order, its
 * report of the replacement and a fill of the old order arrive, the old and
 * the new order end in one state. The model below does what
 * ApplyOrderUpdateUseCase and the dispatch of a replacement write.
 */

interface Books {
  orders: Map<string, Order>;
  position: PositionState;
  fills: FillRecord[];
  events: OrderEventDraft[];
  audits: string[];
}

function write(b: Books, id: string, d: OrderUpdateDecision): void {
  if (d.outcome === 'unchanged') return;
  const o = b.orders.get(id)!;
  if (d.positionChange) b.position = d.positionChange.position;
  if (d.patch) {
    const { replacedBy, ...rest } = d.patch;
    b.orders.set(id, { ...o, ...rest, replacedBy: o.replacedBy ?? replacedBy ?? null });
  }
  b.events.push(...d.events);
  b.audits.push(...d.audit.map((a) => `${a.clientOrderId}:${a.action}`));
}

function recordReplaced(b: Books, oldId: string, replacement: string): void {
  write(b, oldId, decideReplaced(b.orders.get(oldId)!, replacement, 'submit', NOW));
}

/** ApplyOrderUpdateUseCase.apply, on the model. */
function apply(b: Books, r: OrderUpdateReport): void {
  const order =
    b.orders.get(r.order.clientOrderId) ?? [...b.orders.values()].find((o) => o.brokerOrderId === r.order.id);
  if (!order) return;
  const replacement =
    r.order.status === 'replaced' && r.order.replacedBy && !order.replacedBy
      ? ([...b.orders.values()].find((o) => o.brokerOrderId === r.order.replacedBy)?.clientOrderId ?? null)
      : null;
  const position = mayRecordFill(order, r) ? b.position : null;
  let d = decideOrderUpdate({ order, position, report: r, now: NOW, replacement });
  if (d.fill) {
    const f = d.fill;
    const dup = b.fills.some(
      (x) => x.executionId === f.executionId || (x.clientOrderId === f.clientOrderId && exact(x.cumQty).eq(f.cumQty)),
    );
    if (dup) d = decideOrderUpdate({ order, position, report: r, now: NOW, fillAlreadyRecorded: true, replacement });
    else b.fills.push(f);
  }
  write(b, order.clientOrderId, d);
  if (d.outcome === 'applied' && order.replaces && d.patch?.brokerOrderId) {
    if (replacementHolds({ status: d.status, brokerOrderId: d.patch.brokerOrderId })) {
      recordReplaced(b, order.replaces, order.clientOrderId);
    }
  }
}

const OLD = 'c-1';
const NEW = 'c-1-r1';

function books(): Books {
  const old = makeOrder({ orderType: 'limit', limitPrice: '10', qty: '10' });
  const next = makeOrder({
    clientOrderId: NEW,
    orderType: 'limit',
    limitPrice: '11',
    qty: '8',
    status: 'pending_new',
    brokerOrderId: null,
    submittedAt: null,
    replaces: OLD,
  });
  return {
    orders: new Map([
      [OLD, old],
      [NEW, next],
    ]),
    position: FLAT,
    fills: [],
    events: [],
    audits: [],
  };
}

type Step = 'answer' | 'old_replaced' | 'new_reported' | 'old_fill';

/** The broker's word on each step; `filled` is how much of the old order filled before the replace. */
function run(steps: Step[], filled: string): Books {
  const b = books();
  const newAtBroker = { id: 'b-2', clientOrderId: NEW, qty: '8', limitPrice: '11', type: 'limit', replaces: 'b-1' };
  for (const s of steps) {
    if (s === 'answer') {
      // The dispatch of a replacement: the old order is recorded replaced, then the answer applied.
      recordReplaced(b, OLD, NEW);
      apply(b, report({ ...newAtBroker, status: 'new' }, { source: 'submit' }));
    } else if (s === 'new_reported') {
      apply(b, report({ ...newAtBroker, status: 'new' }));
    } else if (s === 'old_replaced') {
      apply(
        b,
        report({
          status: 'replaced',
          replacedBy: 'b-2',
          filledQty: filled,
          filledAvgPrice: filled === '0' ? null : '10',
        }),
      );
    } else if (filled !== '0') {
      apply(
        b,
        report(
          { status: 'partially_filled', filledQty: filled, filledAvgPrice: '10' },
          { execution: { executionId: 'x-1', qty: filled, price: '10' } },
        ),
      );
    }
  }
  return b;
}

const STEPS: Step[] = ['answer', 'old_replaced', 'new_reported', 'old_fill'];

describe('the end state of a replace, whatever the order of the news', () => {
  it('the answer first, then the stream: old replaced with replaced_by, new at the broker', () => {
    const b = run(['answer', 'old_replaced', 'new_reported'], '0');
    expect(b.orders.get(OLD)).toMatchObject({ status: 'replaced', replacedBy: NEW });
    expect(b.orders.get(NEW)).toMatchObject({ status: 'new', brokerOrderId: 'b-2', replaces: OLD });
  });

  it("the stream's `replaced` before the answer: replaced_by is learned when the replacement is", () => {
    const b = books();
    apply(b, report({ status: 'replaced', replacedBy: 'b-2' }));
    // The replacement is not known by its broker id yet: the old order ends replaced, replaced_by still open.
    expect(b.orders.get(OLD)).toMatchObject({ status: 'replaced', replacedBy: null });
    const again = run(['old_replaced', 'answer'], '0');
    expect(again.orders.get(OLD)).toMatchObject({ status: 'replaced', replacedBy: NEW });
  });

  it('property: every order of the four news ends in the same state, each status event once', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(STEPS, { minLength: STEPS.length, maxLength: STEPS.length }),
        fc.constantFrom('0', '3'),
        (steps, filled) => {
          const b = run(steps, filled);
          expect(b.orders.get(OLD)).toMatchObject({ status: 'replaced', replacedBy: NEW, filledQty: filled });
          expect(b.orders.get(NEW)).toMatchObject({
            status: 'new',
            brokerOrderId: 'b-2',
            replaces: OLD,
            filledQty: '0',
          });
          // The old order's fills stay with it, once; the position moved by them only.
          expect(b.fills.filter((f) => f.clientOrderId === OLD)).toHaveLength(filled === '0' ? 0 : 1);
          expect(b.position.qty).toBe(filled);
          const replacedEvents = b.events.filter(
            (e) => e.clientOrderId === OLD && e.eventType === 'order.status' && e.status === 'replaced',
          );
          expect(replacedEvents).toHaveLength(1);
          expect(b.audits.filter((a) => a === `${OLD}:order.replaced`)).toHaveLength(1);
        },
      ),
    );
  });

  it('applying any step again changes nothing', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(STEPS, { minLength: 4, maxLength: 4 }),
        fc.constantFrom<Step>(...STEPS),
        (steps, extra) => {
          const once = run(steps, '3');
          const twice = run([...steps, extra], '3');
          expect([...twice.orders.values()]).toEqual([...once.orders.values()]);
          expect(twice.events).toHaveLength(once.events.length);
        },
      ),
    );
  });
});

describe('decideReplaced', () => {
  it('ends an open order replaced with replaced_by, audited, one status event', () => {
    const d = decideReplaced(makeOrder({ status: 'partially_filled', filledQty: '2' }), NEW, 'submit', NOW);
    expect(d).toMatchObject({ outcome: 'applied', status: 'replaced', patch: { replacedBy: NEW, filledQty: '2' } });
    expect(d.events).toEqual([
      expect.objectContaining({
        eventType: 'order.status',
        status: 'replaced',
        payload: expect.objectContaining({ replaced_by: NEW }),
      }),
    ]);
    expect(d.audit).toEqual([expect.objectContaining({ action: 'order.replaced' })]);
  });

  it('an order a fill already ended keeps its status (the fill won the race)', () => {
    expect(decideReplaced(makeOrder({ status: 'filled', filledQty: '10' }), NEW, 'submit', NOW).outcome).toBe(
      'unchanged',
    );
  });

  it('an order already replaced learns replaced_by once, without a second status event', () => {
    const learned = decideReplaced(makeOrder({ status: 'replaced', replacedBy: null }), NEW, 'stream', NOW);
    expect(learned).toMatchObject({ outcome: 'applied', patch: { replacedBy: NEW }, events: [], audit: [] });
    const set = decideReplaced(makeOrder({ status: 'replaced', replacedBy: NEW }), 'other', 'stream', NOW);
    expect(set.outcome).toBe('unchanged');
  });

  it('an order never sent is not touched', () => {
    expect(decideReplaced(makeOrder({ status: 'dry_run' }), NEW, 'submit', NOW).outcome).toBe('unchanged');
  });
});

describe("decideOrderUpdate on a broker's `replaced` report", () => {
  it('writes replaced_by when the replacement is known locally, and only then', () => {
    const known = decideOrderUpdate({
      order: makeOrder(),
      position: null,
      report: report({ status: 'replaced', replacedBy: 'b-2' }),
      now: NOW,
      replacement: NEW,
    });
    expect(known.patch).toMatchObject({ status: 'replaced', replacedBy: NEW });
    const unknown = decideOrderUpdate({
      order: makeOrder(),
      position: null,
      report: report({ status: 'replaced', replacedBy: 'b-2' }),
      now: NOW,
      replacement: null,
    });
    expect(unknown.patch?.replacedBy).toBeUndefined();
    expect(unknown.status).toBe('replaced');
  });
});
