/**
 * The fake broker's books, kept in Alpaca's wire shapes: orders
 * (fake-alpaca.order-book.ts), positions, account and FILL activities
 * (fake-alpaca.ledger.ts), and here the matching that executes orders and
 * emits their trade updates. No HTTP here: the server routes requests to these
 * methods and turns the results into responses.
 *
 * Invariants:
 * - a client_order_id is never reused, even after the order is canceled or replaced;
 * - filled_qty is cumulative and never exceeds qty; every execution produces
 *   exactly one trade update (with a fresh execution_id) and one FILL activity;
 * - positions are signed (negative = short) and disappear when flat;
 * - all arithmetic is decimal; every amount leaves as a normalized decimal string;
 * - legs (bracket / OTO / OCO, fake-alpaca.order-book.ts): a held leg never
 *   executes; an entry's complete fill releases its legs (`new`, each with its
 *   own trade update); the first execution of one of an OCO pair cancels the
 *   other, so at most one of a pair ever fills; the trade updates of an order
 *   with legs carry them nested (`legs`, as Alpaca's order object), as they
 *   stand after the event.
 */
import { Decimal } from '../../../src/common/decimal';
import { FakeLedger } from './fake-alpaca.ledger';
import { FakeOrderBook } from './fake-alpaca.order-book';
import {
  clone,
  dec,
  GENERATED_CLIENT_ORDER_ID_KIND,
  isOpen,
  parseDecimal,
  Sequence,
  type ExchangeHooks,
} from './fake-alpaca.values';
import {
  activityId,
  ERR_POSITION_NOT_FOUND,
  rfc3339,
  uuidLike,
  validationError,
  type WireAccount,
  type WireFillActivity,
  type WireOrder,
  type WirePosition,
  type WireResponse,
  type WireTradeUpdate,
} from './fake-alpaca.wire';

export type { ExchangeHooks } from './fake-alpaca.values';

/** How new orders get filled. `manual` and `never` both leave the order `new`; `fill()` fills it. */
export type FillBehaviour =
  | { mode: 'never' }
  | { mode: 'manual' }
  | { mode: 'instant' }
  | { mode: 'partial'; steps: number; stepDelayMs?: number };

export interface FillResult {
  executionId: string;
  activityId: string;
  order: WireOrder;
}

type Query = URLSearchParams;

const EXECUTION_ID_KIND = 0x0e1d;
const ACTIVITY_ID_KIND = 0x0ac7;

export class FakeExchange {
  private readonly seq = new Sequence();
  private readonly book: FakeOrderBook;
  private readonly ledger: FakeLedger;
  private readonly prices = new Map<string, string>();
  private readonly behaviourBySymbol = new Map<string, FillBehaviour>();
  private globalBehaviour: FillBehaviour = { mode: 'never' };

  constructor(
    private readonly hooks: ExchangeHooks,
    private readonly defaultPrice = '100',
  ) {
    const bookHooks = {
      now: () => hooks.now(),
      emit: (update: WireTradeUpdate) => hooks.emit(update),
      schedule: (fn: () => void, delayMs: number) => hooks.schedule(fn, delayMs),
      onAccepted: (orderId: string) => this.afterAccept(orderId),
    };
    this.book = new FakeOrderBook(bookHooks, this.seq);
    this.ledger = new FakeLedger({ price: (s) => this.price(s), assetId: (s) => this.book.assetId(s) });
  }

  reset(): void {
    this.book.reset();
    this.ledger.reset();
    this.prices.clear();
    this.behaviourBySymbol.clear();
    this.globalBehaviour = { mode: 'never' };
    this.seq.reset();
  }

  // --- control ---------------------------------------------------------------

  setPrice(symbol: string, price: string): void {
    if (!parseDecimal(price)) throw new Error(`setPrice: not a decimal: ${price}`);
    this.prices.set(symbol, new Decimal(price).toFixed());
  }

  price(symbol: string): string {
    return this.prices.get(symbol) ?? this.defaultPrice;
  }

  setFillBehaviour(behaviour: FillBehaviour, symbol?: string): void {
    if (behaviour.mode === 'partial' && !(behaviour.steps >= 1)) throw new Error('partial fills need steps >= 1');
    if (symbol === undefined) this.globalBehaviour = behaviour;
    else this.behaviourBySymbol.set(symbol, behaviour);
  }

  /** Sets a position directly (no order, no fill, no activity): the broker's books drifting from ours. */
  setPosition(symbol: string, qty: string, avgEntryPrice: string): void {
    this.ledger.setPosition(symbol, qty, avgEntryPrice);
  }

  /** An order placed on the account by someone else (another client, the broker's web UI): no POST counted. */
  plantOrder(f: {
    symbol: string;
    side: 'buy' | 'sell';
    qty: string;
    clientOrderId?: string;
    limitPrice?: string;
  }): WireOrder {
    const order = this.book.newOrder({
      clientOrderId: f.clientOrderId ?? uuidLike(0x0f0f, this.seq.peek()),
      symbol: f.symbol,
      side: f.side,
      type: f.limitPrice ? 'limit' : 'market',
      timeInForce: 'day',
      qty: f.qty,
      notional: null,
      limitPrice: f.limitPrice ?? null,
      stopPrice: null,
      trailPrice: null,
      trailPercent: null,
      extendedHours: false,
    });
    return clone(order);
  }

  setAccount(patch: Partial<WireAccount>): void {
    this.ledger.setAccount(patch);
  }

  // --- inspection --------------------------------------------------------------

  allOrders(): WireOrder[] {
    return this.book.allOrders();
  }

  order(id: string): WireOrder | undefined {
    return this.book.order(id);
  }

  orderByClientOrderId(clientOrderId: string): WireOrder | undefined {
    return this.book.orderByClientOrderId(clientOrderId);
  }

  activities(): WireFillActivity[] {
    return this.ledger.activities();
  }

  positions(): WirePosition[] {
    return this.ledger.positions();
  }

  account(): WireAccount {
    return this.ledger.account();
  }

  // --- requests (the server's handlers) ------------------------------------------

  /** POST /v2/orders. On success the order is stored and its post-accept events scheduled. */
  submit(body: unknown): WireResponse {
    return this.book.submit(body);
  }

  get(id: string): WireResponse {
    return this.book.get(id);
  }

  getByClientOrderId(query: Query): WireResponse {
    return this.book.getByClientOrderId(query);
  }

  list(query: Query): WireResponse {
    return this.book.list(query);
  }

  cancel(id: string): WireResponse {
    return this.book.cancel(id);
  }

  cancelAll(): WireResponse {
    return this.book.cancelAll();
  }

  replace(id: string, body: unknown): WireResponse {
    return this.book.replace(id, body);
  }

  listPositions(): WireResponse {
    return this.ledger.listPositions();
  }

  /** DELETE /v2/positions/{symbol}: a market order for all, `qty` or `percentage` of the position. */
  closePosition(symbol: string, query: Query): WireResponse {
    const p = this.ledger.position(symbol);
    if (!p) return { status: 404, body: ERR_POSITION_NOT_FOUND };
    const held = p.qty.abs();
    const qtyText = query.get('qty');
    const pctText = query.get('percentage');
    if (qtyText !== null && pctText !== null) return validationError('qty and percentage are mutually exclusive');
    let qty = held;
    if (qtyText !== null) {
      const q = parseDecimal(qtyText);
      if (!q || !q.gt(0)) return validationError('invalid qty');
      if (q.gt(held)) return { status: 403, body: { code: 40310000, message: 'insufficient qty available for order' } };
      qty = q;
    } else if (pctText !== null) {
      const pct = parseDecimal(pctText);
      if (!pct || !pct.gt(0) || pct.gt(100)) return validationError('invalid percentage');
      qty = held.mul(pct).div(100).toDecimalPlaces(9, Decimal.ROUND_DOWN);
    }
    const order = this.book.newOrder({
      clientOrderId: uuidLike(GENERATED_CLIENT_ORDER_ID_KIND, this.seq.peek()),
      symbol,
      side: p.qty.gt(0) ? 'sell' : 'buy',
      type: 'market',
      timeInForce: 'day',
      qty: qty.toFixed(),
      notional: null,
      limitPrice: null,
      stopPrice: null,
      trailPrice: null,
      trailPercent: null,
      extendedHours: false,
    });
    this.afterAccept(order.id);
    return { status: 200, body: clone(order) };
  }

  /** GET /v2/account/activities (FILL only: the fake records no other activity). */
  listActivities(query: Query, pathType?: string): WireResponse {
    return this.ledger.listActivities(query, pathType);
  }

  // --- executions ------------------------------------------------------------------

  /**
   * One execution of `qty` at `price` (the symbol's reference price by default):
   * updates the order, position, cash and activities, and emits the trade update.
   */
  fill(orderId: string, qtyText: string, priceText?: string): FillResult {
    const o = this.book.live(orderId);
    if (!o) throw new Error(`fill: unknown order ${orderId}`);
    if (!isOpen(o)) throw new Error(`fill: order ${orderId} is ${o.status}`);
    if (o.status === 'held') throw new Error(`fill: order ${orderId} is a leg held until its entry fills`);
    if (o.qty === null) throw new Error('fill: notional orders are not supported by the fake');
    const qty = parseDecimal(qtyText);
    const price = parseDecimal(priceText ?? this.price(o.symbol));
    if (!qty || !qty.gt(0)) throw new Error(`fill: bad qty ${qtyText}`);
    if (!price || !price.gt(0)) throw new Error(`fill: bad price ${priceText}`);
    const filledBefore = new Decimal(o.filled_qty);
    const leavesBefore = new Decimal(o.qty).sub(filledBefore);
    if (qty.gt(leavesBefore)) throw new Error(`fill: qty ${qtyText} exceeds leaves ${leavesBefore.toFixed()}`);

    const nowDate = this.hooks.now();
    const now = rfc3339(nowDate);
    const cum = filledBefore.add(qty);
    const avgBefore = o.filled_avg_price === null ? new Decimal(0) : new Decimal(o.filled_avg_price);
    const avg = filledBefore.mul(avgBefore).add(qty.mul(price)).div(cum);
    const complete = cum.eq(o.qty);
    o.filled_qty = cum.toFixed();
    o.filled_avg_price = dec(avg);
    o.status = complete ? 'filled' : 'partially_filled';
    o.updated_at = now;
    if (complete) o.filled_at = now;

    const signed = o.side === 'buy' ? qty : qty.neg();
    const positionQty = this.ledger.applyExecution(o.symbol, signed, price);

    const n = this.seq.next();
    const executionId = uuidLike(EXECUTION_ID_KIND, n);
    const activity: WireFillActivity = {
      id: activityId(nowDate, uuidLike(ACTIVITY_ID_KIND, n)),
      activity_type: 'FILL',
      transaction_time: now,
      type: complete ? 'fill' : 'partial_fill',
      price: price.toFixed(),
      qty: qty.toFixed(),
      side: o.side,
      symbol: o.symbol,
      leaves_qty: new Decimal(o.qty).sub(cum).toFixed(),
      cum_qty: cum.toFixed(),
      order_id: o.id,
      order_status: o.status,
    };
    this.ledger.recordActivity(activity);
    // The legs move with the execution (an OCO sibling canceled, held legs released), so the update's
    // snapshot shows them as they are after it; the released legs' own `new` updates follow it.
    const released = this.afterExecution(o, complete);
    this.hooks.emit({
      event: complete ? 'fill' : 'partial_fill',
      execution_id: executionId,
      order: this.book.wire(o),
      timestamp: now,
      price: price.toFixed(),
      qty: qty.toFixed(),
      position_qty: positionQty.toFixed(),
    });
    for (const leg of released) this.hooks.emit({ event: 'new', order: clone(leg), timestamp: now });
    return { executionId, activityId: activity.id, order: this.book.wire(o) };
  }

  /** Moves an order to any status (expired, rejected, done_for_day, or one Alpaca has not invented yet). */
  setStatus(orderId: string, status: string, event: string = status): WireOrder {
    const o = this.book.live(orderId);
    if (!o) throw new Error(`setStatus: unknown order ${orderId}`);
    const now = rfc3339(this.hooks.now());
    o.status = status;
    o.updated_at = now;
    if (status === 'expired') o.expired_at = now;
    if (status === 'canceled') o.canceled_at = now;
    if (status === 'rejected') o.failed_at = now;
    this.hooks.emit({ event, order: this.book.wire(o), timestamp: now });
    return this.book.wire(o);
  }

  // --- internals -------------------------------------------------------------------

  /**
   * Legs: a filled entry releases its held legs; an execution of one of an OCO pair cancels the other.
   * Answers the legs released (their `new` updates are the caller's to emit, after the execution's).
   */
  private afterExecution(o: WireOrder, complete: boolean): WireOrder[] {
    const sibling = this.book.ocoSiblingOf(o.id);
    if (sibling) this.book.cancelIfOpen(sibling);
    if (!complete || o.order_class === 'oco') return [];
    const now = rfc3339(this.hooks.now());
    const released = this.book.legsOf(o.id).filter((leg) => leg.status === 'held');
    for (const leg of released) {
      leg.status = 'new';
      leg.updated_at = now;
    }
    return released;
  }

  /** After the answer: the `new` event, then whatever the fill behaviour says. */
  private afterAccept(orderId: string): void {
    const accepted = this.book.live(orderId);
    // As Alpaca: a trailing stop's high-water mark starts at the current price, its stop the trail away from it.
    if (accepted?.type === 'trailing_stop') {
      const hwm = new Decimal(this.price(accepted.symbol));
      const trail =
        accepted.trail_price ??
        hwm
          .mul(accepted.trail_percent ?? 0)
          .div(100)
          .toFixed();
      accepted.hwm = hwm.toFixed();
      accepted.stop_price = (accepted.side === 'sell' ? hwm.minus(trail) : hwm.plus(trail)).toFixed();
    }
    this.hooks.schedule(() => {
      const o = this.book.live(orderId);
      if (!o) return;
      this.hooks.emit({ event: 'new', order: this.book.wire(o), timestamp: rfc3339(this.hooks.now()) });
      const behaviour = this.behaviourBySymbol.get(o.symbol) ?? this.globalBehaviour;
      if (behaviour.mode === 'never' || behaviour.mode === 'manual') return;
      if (!this.marketable(o) || o.qty === null) return;
      const steps =
        behaviour.mode === 'instant' ? [new Decimal(o.qty)] : this.split(new Decimal(o.qty), behaviour.steps);
      const delay = behaviour.mode === 'partial' ? (behaviour.stepDelayMs ?? 0) : 0;
      this.runSteps(orderId, steps, delay);
    }, 0);
  }

  private runSteps(orderId: string, steps: Decimal[], delayMs: number): void {
    const [first, ...rest] = steps;
    if (first === undefined) return;
    this.hooks.schedule(() => {
      const o = this.book.live(orderId);
      if (!o || !isOpen(o) || !this.marketable(o)) return;
      this.fill(orderId, first.toFixed(), this.executionPrice(o));
      this.runSteps(orderId, rest, delayMs);
    }, delayMs);
  }

  /** Market orders always; limit orders when the reference price crosses; stops never (fill them by hand). */
  private marketable(o: WireOrder): boolean {
    if (o.type === 'market') return true;
    if (o.type !== 'limit' || o.limit_price === null) return false;
    const ref = new Decimal(this.price(o.symbol));
    return o.side === 'buy' ? ref.lte(o.limit_price) : ref.gte(o.limit_price);
  }

  private executionPrice(o: WireOrder): string {
    return this.price(o.symbol);
  }

  private split(qty: Decimal, steps: number): Decimal[] {
    const n = qty.isInteger() ? Math.max(1, Math.min(steps, qty.toNumber())) : steps;
    const part = qty.isInteger() ? qty.divToInt(n) : qty.div(n).toDecimalPlaces(9, Decimal.ROUND_DOWN);
    const parts: Decimal[] = Array.from({ length: n - 1 }, () => part);
    parts.push(qty.sub(part.mul(n - 1)));
    return parts;
  }
}
