import fc from 'fast-check';
import { BrokerFill, BrokerOrder, BrokerPosition } from '../../broker/broker-client.port';
import { exact, plain, quotient } from '../../common/decimal';
import { fillIncrement } from '../../trading/fill-progress';
import { fromBrokerStatus, transition } from '../../trading/order-state-machine';
import { OrderStatus } from '../../trading/order-status';
import { applyFillToPosition, FLAT, PositionState } from '../../positions/domain/position-math';
import { rebuildPosition } from '../../positions/domain/position-rebuild';
import {
  comparePositions,
  Correction,
  LocalOrderView,
  OrderReconcileInput,
  PositionView,
  reconcileOrders,
} from './reconcile';

// --- a model of the books, applying corrections as applyOrderUpdate does -------------------

interface Execution {
  executionId: string;
  clientOrderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: string;
  price: string;
  cum: string;
  at: number;
}

interface Books {
  orders: Map<string, LocalOrderView>;
  executions: Map<string, Execution>;
}

function clone(b: Books): Books {
  return {
    orders: new Map([...b.orders].map(([k, v]) => [k, { ...v }])),
    executions: new Map([...b.executions].map(([k, v]) => [k, { ...v }])),
  };
}

function applyOne(b: Books, c: Correction): void {
  const order = b.orders.get(c.clientOrderId);
  if (!order) return;
  const inc = fillIncrement(order, c.order.filledQty, c.order.filledAvgPrice, c.execution?.price, c.execution?.qty);
  if (inc) {
    const id = c.execution?.executionId ?? `cum:${order.clientOrderId}:${inc.newFilledQty}`;
    const dupCum = [...b.executions.values()].some(
      (e) => e.clientOrderId === order.clientOrderId && exact(e.cum).eq(inc.newFilledQty),
    );
    if (!b.executions.has(id) && !dupCum) {
      b.executions.set(id, {
        executionId: id,
        clientOrderId: order.clientOrderId,
        symbol: order.symbol,
        side: order.side,
        qty: inc.qty,
        price: inc.price,
        cum: inc.newFilledQty,
        at: c.at.getTime(),
      });
      order.filledQty = inc.newFilledQty;
      order.filledAvgPrice = inc.newAvgPrice;
    }
  }
  const reported = fromBrokerStatus(c.order.status);
  if (reported) {
    const t = transition(order.status, reported);
    if (t.applied) order.status = t.status;
  }
  order.brokerOrderId ??= c.order.id;
}

function applyAll(b: Books, cs: Correction[]): Books {
  const next = clone(b);
  for (const c of cs) applyOne(next, c);
  return next;
}

function positionsOf(b: Books): PositionView[] {
  const bySymbol = new Map<string, Execution[]>();
  for (const e of b.executions.values()) bySymbol.set(e.symbol, [...(bySymbol.get(e.symbol) ?? []), e]);
  return [...bySymbol].map(([symbol, list]) => {
    const p = rebuildPosition(
      list.map((e, i) => ({
        id: String(i),
        side: e.side,
        qty: e.qty,
        price: e.price,
        executedAt: new Date(e.at),
        realizedPl: '0',
      })),
    ).position;
    return { symbol, qty: p.qty, avgEntryPrice: p.avgEntryPrice };
  });
}

// --- a broker world and a lossy local view of it ----------------------------------------------

interface World {
  brokerOrders: BrokerOrder[];
  fills: BrokerFill[];
  positions: BrokerPosition[];
  books: Books;
  orphanIds: string[];
}

const T0 = Date.UTC(2026, 0, 2, 15);

const orderArb = fc.record({
  symbol: fc.constantFrom('AAA', 'BBB'),
  side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
  qty: fc.integer({ min: 1, max: 20 }),
  parts: fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 4 }),
  prices: fc.array(fc.integer({ min: 100, max: 20_000 }), { minLength: 4, maxLength: 4 }),
  openOutcome: fc.constantFrom('new', 'canceled'),
  knownPrefix: fc.nat(4),
  streamIds: fc.boolean(),
  unconfirmed: fc.boolean(),
});

const worldArb = fc
  .record({
    orders: fc.array(orderArb, { minLength: 1, maxLength: 6 }),
    orphans: fc.array(fc.record({ symbol: fc.constantFrom('AAA', 'CCC'), qty: fc.integer({ min: 1, max: 9 }) }), {
      maxLength: 2,
    }),
  })
  .map(({ orders, orphans }): World => {
    let clock = T0;
    const brokerOrders: BrokerOrder[] = [];
    const fills: BrokerFill[] = [];
    const all: Execution[] = [];
    const books: Books = { orders: new Map(), executions: new Map() };
    orders.forEach((o, i) => {
      const cid = `c${i}`;
      const bid = `b${i}`;
      // Executions: the parts, clipped to the order's quantity.
      const execs: Array<{ qty: number; price: string }> = [];
      let filled = 0;
      for (const [j, part] of o.parts.entries()) {
        const q = Math.min(part, o.qty - filled);
        if (q <= 0) break;
        execs.push({ qty: q, price: plain(exact(String(o.prices[j])).div(100)) });
        filled += q;
      }
      let cum = exact('0');
      let notional = exact('0');
      const orderExecs: Execution[] = execs.map((e, j) => {
        cum = cum.plus(e.qty);
        notional = notional.plus(exact(e.price).times(e.qty));
        clock += 1000;
        const x: Execution = {
          executionId: `act-${i}-${j}`,
          clientOrderId: cid,
          symbol: o.symbol,
          side: o.side,
          qty: String(e.qty),
          price: e.price,
          cum: plain(cum),
          at: clock,
        };
        fills.push({
          executionId: x.executionId,
          brokerOrderId: bid,
          symbol: o.symbol,
          side: o.side,
          qty: x.qty,
          price: x.price,
          cumQty: x.cum,
          leavesQty: plain(exact(String(o.qty)).minus(cum)),
          transactionTime: new Date(clock),
        });
        return x;
      });
      all.push(...orderExecs);
      const status =
        filled === o.qty
          ? 'filled'
          : o.openOutcome === 'canceled'
            ? 'canceled'
            : filled > 0
              ? 'partially_filled'
              : 'new';
      brokerOrders.push(
        brokerOrder(
          bid,
          cid,
          o.symbol,
          o.side,
          String(o.qty),
          status,
          plain(cum),
          filled ? plain(quotient(notional, cum)) : null,
        ),
      );
      // The local view knows a prefix of the executions.
      const known = orderExecs.slice(0, Math.min(o.knownPrefix, orderExecs.length));
      let kcum = exact('0');
      let knot = exact('0');
      for (const x of known) {
        const id = o.streamIds ? `stream-${x.executionId}` : x.executionId;
        books.executions.set(id, { ...x, executionId: id });
        kcum = kcum.plus(x.qty);
        knot = knot.plus(exact(x.price).times(x.qty));
      }
      const unconfirmed = o.unconfirmed && known.length === 0;
      const localStatus: OrderStatus = unconfirmed
        ? 'submitted_unconfirmed'
        : kcum.eq(o.qty)
          ? 'filled'
          : kcum.gt(0)
            ? 'partially_filled'
            : 'new';
      books.orders.set(cid, {
        clientOrderId: cid,
        brokerOrderId: unconfirmed ? null : bid,
        symbol: o.symbol,
        side: o.side,
        qty: String(o.qty),
        status: localStatus,
        filledQty: plain(kcum),
        filledAvgPrice: kcum.gt(0) ? plain(quotient(knot, kcum)) : null,
      });
    });
    const orphanIds: string[] = [];
    orphans.forEach((o, i) => {
      orphanIds.push(`ob${i}`);
      brokerOrders.push(brokerOrder(`ob${i}`, `foreign-${i}`, o.symbol, 'buy', String(o.qty), 'new', '0', null));
    });
    return { brokerOrders, fills, positions: brokerPositions(all), books, orphanIds };
  });

function brokerOrder(
  id: string,
  clientOrderId: string,
  symbol: string,
  side: 'buy' | 'sell',
  qty: string,
  status: string,
  filledQty: string,
  filledAvgPrice: string | null,
): BrokerOrder {
  const at = new Date(T0);
  return {
    id,
    clientOrderId,
    symbol,
    side,
    type: 'market',
    timeInForce: 'day',
    qty,
    limitPrice: null,
    stopPrice: null,
    status,
    filledQty,
    filledAvgPrice,
    createdAt: at,
    updatedAt: at,
    submittedAt: at,
    filledAt: null,
    canceledAt: null,
    replacedBy: null,
    replaces: null,
  };
}

function brokerPositions(execs: Execution[]): BrokerPosition[] {
  const by = new Map<string, PositionState>();
  for (const e of [...execs].sort((a, b) => a.at - b.at)) {
    const p = applyFillToPosition(by.get(e.symbol) ?? FLAT, { side: e.side, qty: e.qty, price: e.price });
    by.set(e.symbol, p);
  }
  return [...by]
    .filter(([, p]) => !exact(p.qty).isZero())
    .map(([symbol, p]) => ({
      symbol,
      qty: p.qty,
      avgEntryPrice: p.avgEntryPrice,
      marketValue: null,
      currentPrice: null,
      unrealizedPl: null,
    }));
}

function input(w: World, books: Books): OrderReconcileInput {
  const cids = new Set(books.orders.keys());
  const bids = new Set([...books.orders.values()].flatMap((o) => (o.brokerOrderId ? [o.brokerOrderId] : [])));
  return {
    localOrders: [...books.orders.values()],
    brokerOrders: w.brokerOrders,
    isKnown: ({ clientOrderId, brokerOrderId }) =>
      (clientOrderId !== null && cids.has(clientOrderId)) || (brokerOrderId !== null && bids.has(brokerOrderId)),
    brokerFills: w.fills,
    knownExecutionIds: new Set(books.executions.keys()),
  };
}

/** The books as they would be had nothing been missed. */
function converged(w: World): Books {
  const books: Books = { orders: new Map(), executions: new Map() };
  const byBroker = new Map(w.brokerOrders.map((o) => [o.id, o]));
  for (const local of w.books.orders.values()) {
    const b = byBroker.get(local.brokerOrderId ?? `b${local.clientOrderId.slice(1)}`)!;
    books.orders.set(local.clientOrderId, {
      ...local,
      brokerOrderId: b.id,
      status: fromBrokerStatus(b.status)!,
      filledQty: b.filledQty,
      filledAvgPrice: b.filledAvgPrice,
    });
  }
  for (const f of w.fills) {
    const cid = `c${f.brokerOrderId.slice(1)}`;
    books.executions.set(f.executionId, {
      executionId: f.executionId,
      clientOrderId: cid,
      symbol: f.symbol,
      side: f.side,
      qty: f.qty,
      price: f.price,
      cum: f.cumQty!,
      at: f.transactionTime.getTime(),
    });
  }
  return books;
}

const snapshot = (b: Books) => ({
  orders: [...b.orders.values()].sort((x, y) => x.clientOrderId.localeCompare(y.clientOrderId)),
  executions: [...b.executions.values()].map((e) => `${e.clientOrderId}:${e.cum}:${e.qty}@${e.price}`).sort(),
});

describe('reconcileOrders (properties)', () => {
  it('applying the corrections twice changes nothing the second time', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { corrections } = reconcileOrders(input(w, w.books));
        const once = applyAll(w.books, corrections);
        const twice = applyAll(once, corrections);
        expect(snapshot(twice)).toEqual(snapshot(once));
      }),
    );
  });

  it('converges: after the corrections, the same reports yield no corrections and positions agree', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { corrections } = reconcileOrders(input(w, w.books));
        const after = applyAll(w.books, corrections);
        expect(reconcileOrders(input(w, after)).corrections).toEqual([]);
        expect(comparePositions(positionsOf(after), w.positions)).toEqual([]);
        // Every execution the broker reported is recorded exactly once (per cumulative step).
        for (const o of after.orders.values()) {
          const sum = [...after.executions.values()]
            .filter((e) => e.clientOrderId === o.clientOrderId)
            .reduce((s, e) => s.plus(e.qty), exact('0'));
          expect(plain(sum)).toBe(plain(exact(o.filledQty)));
        }
      }),
    );
  });

  it('a state that already agrees with the broker yields no corrections and no findings but the orphans', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const books = converged(w);
        const result = reconcileOrders(input(w, books));
        expect(result.corrections).toEqual([]);
        expect(result.findings.filter((f) => f.kind !== 'orphan')).toEqual([]);
        expect(comparePositions(positionsOf(books), w.positions)).toEqual([]);
      }),
    );
  });

  it('reports every broker order the gateway never sent as an orphan, once, and nothing else as one', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const orphans = reconcileOrders(input(w, w.books)).findings.filter((f) => f.kind === 'orphan');
        expect(orphans.map((f) => f.brokerOrderId).sort()).toEqual([...w.orphanIds].sort());
        expect(new Set(orphans.map((f) => f.key)).size).toBe(orphans.length);
      }),
    );
  });

  it('never proposes a fill the books already hold under another channel’s id (cumulative decides)', () => {
    fc.assert(
      fc.property(worldArb, (w) => {
        const { corrections } = reconcileOrders(input(w, w.books));
        for (const c of corrections.filter((x) => x.kind === 'apply_fill')) {
          const local = w.books.orders.get(c.clientOrderId)!;
          expect(exact(c.order.filledQty).gt(local.filledQty)).toBe(true);
        }
      }),
    );
  });
});

describe('reconcileOrders (examples)', () => {
  const local = (over: Partial<LocalOrderView> = {}): LocalOrderView => ({
    clientOrderId: 'c1',
    brokerOrderId: 'b1',
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    status: 'new',
    filledQty: '0',
    filledAvgPrice: null,
    ...over,
  });
  const base = (over: Partial<OrderReconcileInput>): OrderReconcileInput => ({
    localOrders: [],
    brokerOrders: [],
    isKnown: () => false,
    brokerFills: [],
    knownExecutionIds: new Set(),
    ...over,
  });

  it('resolves an unconfirmed order found by client_order_id (adopting the broker id)', () => {
    const r = reconcileOrders(
      base({
        localOrders: [local({ brokerOrderId: null, status: 'submitted_unconfirmed' })],
        brokerOrders: [brokerOrder('b1', 'c1', 'AAPL', 'buy', '10', 'new', '0', null)],
      }),
    );
    expect(r.corrections).toHaveLength(1);
    expect(r.corrections[0]).toMatchObject({ kind: 'apply_status', clientOrderId: 'c1', order: { id: 'b1' } });
    expect(r.findings).toEqual([]);
  });

  it('leaves an unconfirmed order the broker does not know to the resolver, but flags a working one', () => {
    const r = reconcileOrders(
      base({
        localOrders: [
          local({ clientOrderId: 'c1', brokerOrderId: null, status: 'submitted_unconfirmed' }),
          local({ clientOrderId: 'c2', brokerOrderId: 'b2', status: 'new' }),
        ],
      }),
    );
    expect(r.corrections).toEqual([]);
    expect(r.findings.map((f) => [f.kind, f.clientOrderId, f.broker])).toEqual([['status_mismatch', 'c2', null]]);
  });

  it('does not price a fill alone when an earlier execution is outside the window: the order report covers it', () => {
    const r = reconcileOrders(
      base({
        localOrders: [local()],
        brokerOrders: [brokerOrder('b1', 'c1', 'AAPL', 'buy', '10', 'filled', '10', '101')],
        brokerFills: [
          {
            executionId: 'x2',
            brokerOrderId: 'b1',
            symbol: 'AAPL',
            side: 'buy',
            qty: '6',
            price: '101.5',
            cumQty: '10',
            leavesQty: '0',
            transactionTime: new Date(T0),
          },
        ],
      }),
    );
    expect(r.corrections.map((c) => c.kind)).toEqual(['apply_status']);
  });

  it('compares positions at the broker’s precision and names both sides', () => {
    expect(
      comparePositions(
        [{ symbol: 'AAPL', qty: '10', avgEntryPrice: '100.000001' }],
        [
          {
            symbol: 'AAPL',
            qty: '10',
            avgEntryPrice: '100',
            marketValue: null,
            currentPrice: null,
            unrealizedPl: null,
          },
        ],
      ),
    ).toEqual([]);
    expect(
      comparePositions(
        [
          { symbol: 'AAPL', qty: '10', avgEntryPrice: '100' },
          { symbol: 'MSFT', qty: '0', avgEntryPrice: '0' },
        ],
        [{ symbol: 'AAPL', qty: '7', avgEntryPrice: '100', marketValue: null, currentPrice: null, unrealizedPl: null }],
      ),
    ).toEqual([
      expect.objectContaining({
        kind: 'position_mismatch',
        symbol: 'AAPL',
        local: { qty: '10', avg_entry_price: '100' },
        broker: { qty: '7', avg_entry_price: '100' },
      }),
    ]);
  });
});
