/**
 * Shared by the reconciliation specs (test code only): a model of the local
 * books that applies corrections as applyOrderUpdate does, and a fast-check
 * generator of broker worlds with a lossy local view of them.
 */
import fc from 'fast-check';
import type { BrokerFill, BrokerOrder, BrokerPosition } from '../../broker/broker-client.port';
import { exact, plain, quotient } from '../../common/decimal';
import { fillIncrement } from '../../trading/fill-progress';
import { fromBrokerStatus, transition } from '../../trading/order-state-machine';
import type { OrderStatus } from '../../trading/order-status';
import { applyFillToPosition, FLAT, type PositionState } from '../../positions/domain/position-math';
import { rebuildPosition } from '../../positions/domain/position-rebuild';
import type { Correction, LocalOrderView, OrderReconcileInput, PositionView } from './reconcile';

// --- a model of the books, applying corrections as applyOrderUpdate does -------------------

export interface Execution {
  executionId: string;
  clientOrderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  qty: string;
  price: string;
  cum: string;
  at: number;
}

export interface Books {
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

export function applyAll(b: Books, cs: Correction[]): Books {
  const next = clone(b);
  for (const c of cs) applyOne(next, c);
  return next;
}

export function positionsOf(b: Books): PositionView[] {
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

export interface World {
  brokerOrders: BrokerOrder[];
  fills: BrokerFill[];
  positions: BrokerPosition[];
  books: Books;
  orphanIds: string[];
}

export const T0 = Date.UTC(2026, 0, 2, 15);

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

export const worldArb = fc
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

export function brokerOrder(
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

export function input(w: World, books: Books): OrderReconcileInput {
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
export function converged(w: World): Books {
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

export const snapshot = (b: Books) => ({
  orders: [...b.orders.values()].sort((x, y) => x.clientOrderId.localeCompare(y.clientOrderId)),
  executions: [...b.executions.values()].map((e) => `${e.clientOrderId}:${e.cum}:${e.qty}@${e.price}`).sort(),
});
