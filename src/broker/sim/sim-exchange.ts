/**
 * The sim's book: orders, matching, executions and the ledger, and the
 * update stream they are published on. The client (sim-broker.client.ts)
 * adds what sits around a venue: command latency, injected faults and the
 * report endpoints; per-order matching rules are in sim-order.ts.
 *
 * Invariants (see also sim-broker.client.ts):
 * - an order's cumulative filled qty never decreases and never exceeds its qty;
 *   each execution has its own id and is booked once in the ledger;
 * - ioc and fok orders never rest: whatever did not fill on arrival is canceled;
 * - every state change is published on the stream, in the order it happened;
 * - legs (sim-order.ts): held until their entry fills completely, then
 *   matched like any order; one execution of an OCO pair cancels the other;
 *   canceling an order cancels its live legs;
 * - memory is bounded (docs/simulator.md#memory-and-retention): live and held
 *   orders always stay; ended ones (a family once all of it ended) and
 *   executions beyond the most recent `retained*` leave memory, oldest first.
 */
import { IdFilter } from './id-filter';
import { Decimal } from '../../common/decimal';
import type { Clock } from '../../infra/clock/clock';
import type { BrokerOrder, OrderUpdate, OrderUpdateEvent } from '../broker-client.port';
import { forbidden, unprocessable } from './sim-errors';
import type { SimEventStream } from './sim-event-stream';
import { SimLedger } from './sim-ledger';
import { SimLiveOrders } from './sim-live-orders';
import type { ResolvedSimOptions } from './sim-options';
import {
  isLive,
  isOpen,
  isStop,
  SIMPLE,
  leavesQty,
  marketableAt,
  splitQuantity,
  ratchet,
  stopCrossed,
  toBrokerOrder,
  type OrderTerms,
  type SimOrder,
  type SimOrderLinks,
  type SimOrderStatus,
  type SimChangeListener,
  type SimExecution,
  type SimLegRequest,
} from './sim-order';

export type { SimChangeListener, SimExecution, SimLegRequest } from './sim-order';

export class SimExchange {
  /** Live orders and the most recently ended ones (docs/simulator.md#memory-and-retention). */
  readonly orders = new Map<string, SimOrder>();
  readonly byClientOrderId = new Map<string, SimOrder>();
  /** The most recent executions, oldest first (at most `retainedExecutions`). */
  readonly executions: SimExecution[] = [];
  /** Ended orders dropped from memory so far, and executions (the durable book still has them). */
  evictedOrders = 0;
  /** The client order ids of the orders that left memory (a Bloom filter: id-filter.ts). */
  readonly evictedIds = new IdFilter();
  evictedExecutions = 0;
  /** The latest transaction time among the dropped executions (null while none was dropped). */
  evictedThrough: Date | null = null;
  /**
   * Top-level orders whose whole family (the order and its legs) has ended, in
   * the order they ended: the oldest go first once more than
   * `retainedEndedOrders` ended orders are in memory.
   */
  private readonly ended = new Map<string, number>();
  private endedCount = 0;
  private executionSeq = 0;
  /**
   * The orders that may still be open, by symbol, and what they hold back from buying power: keeps
   * openOrders() and buyingPower() from walking every order ever placed.
   */
  private readonly live: SimLiveOrders;
  readonly ledger: SimLedger;
  readonly prices: Map<string, Decimal>;
  readonly liquidity: Map<string, Decimal | null>;
  private readonly clock: Clock;
  private seq = 0;
  /** An order's legs, take-profit first. */
  private readonly legIds = new Map<string, string[]>();
  /** Set when the book is durable: every change is marked for saving. */
  journal: SimChangeListener | null = null;

  /** `deferFill`: runs a match after the fill latency (at once when there is none). */
  constructor(
    private readonly opts: ResolvedSimOptions,
    readonly stream: SimEventStream,
    private readonly deferFill: (fn: () => void) => void,
  ) {
    this.clock = opts.clock;
    this.prices = new Map(opts.referencePrices);
    this.liquidity = new Map(opts.liquidity);
    this.ledger = new SimLedger(opts.startingCash);
    this.live = new SimLiveOrders(this.ledger, (symbol) => this.referencePriceOf(symbol));
  }

  /** Puts a validated order on the book: `new` event, then matching (or a venue-side reject). */
  accept(clientOrderId: string, terms: OrderTerms, rejectAfterAck?: string, legs?: SimLegRequest): BrokerOrder {
    const { order } = this.open(clientOrderId, terms, null, legs ? { ...SIMPLE, orderClass: legs.orderClass } : SIMPLE);
    const held = legs?.orderClass !== 'oco';
    for (const leg of legs?.legs ?? []) {
      const links = { orderClass: legs!.orderClass, legType: leg.legType, parentId: order.id };
      const { order: legOrder } = this.open(this.opts.idFactory(), leg.terms, null, links);
      if (held) legOrder.status = 'held';
      this.changed(legOrder); // a held leg has no event of its own: it is saved here
      this.legIds.set(order.id, [...(this.legIds.get(order.id) ?? []), legOrder.id]);
    }
    const ack = this.report(order);
    this.publish('new', order);
    for (const leg of this.legsOf(order)) if (leg.status === 'new') this.publish('new', leg);
    if (rejectAfterAck !== undefined) this.finish(order, 'rejected', 'rejected');
    else this.deferFill(() => this.matchArrival(order));
    return ack;
  }

  /** The order as the port reports it, with its legs nested (as Alpaca's `nested=true`). */
  report(order: SimOrder): BrokerOrder {
    return toBrokerOrder(order, this.legsOf(order));
  }

  legsOf(order: SimOrder): SimOrder[] {
    return (this.legIds.get(order.id) ?? []).map((id) => this.orders.get(id)!);
  }

  /** The order one execution of `order` cancels: its OCO sibling, if it has one. */
  ocoSiblingOf(order: SimOrder): SimOrder | undefined {
    if (order.parentId === null) return order.orderClass === 'oco' ? this.legsOf(order)[0] : undefined;
    const parent = this.orders.get(order.parentId);
    if (!parent) return undefined;
    if (parent.orderClass === 'oco') return parent;
    return parent.orderClass === 'bracket' ? this.legsOf(parent).find((l) => l.id !== order.id) : undefined;
  }

  /** Cancels a live order and, with it, its live legs. */
  cancel(order: SimOrder): void {
    if (isLive(order)) this.finish(order, 'canceled', 'canceled');
    for (const leg of this.legsOf(order)) if (isLive(leg)) this.finish(leg, 'canceled', 'canceled');
  }

  /** Every live order, oldest first; a parent's cancel takes its legs along, so each is canceled (and listed) once. */
  cancelAll(): Array<{ brokerOrderId: string; status: number }> {
    const live = [...this.orders.values()].filter(isLive).sort((a, b) => a.seq - b.seq);
    return live.flatMap((order) => {
      if (!isLive(order)) return [];
      this.cancel(order);
      return [{ brokerOrderId: order.id, status: 200 }];
    });
  }

  open(
    clientOrderId: string,
    terms: OrderTerms,
    replaces: string | null,
    links: SimOrderLinks = SIMPLE,
  ): { order: SimOrder; ack: BrokerOrder } {
    const now = this.clock.now();
    this.seq += 1;
    const order: SimOrder = {
      ...terms,
      ...links,
      seq: this.seq,
      id: this.opts.idFactory(),
      clientOrderId,
      replaces,
      status: 'new',
      triggered: !isStop(terms.type),
      hwm: null,
      filledQty: new Decimal(0),
      filledNotional: new Decimal(0),
      createdAt: now,
      updatedAt: now,
      submittedAt: now,
      filledAt: null,
      canceledAt: null,
      replacedBy: null,
    };
    this.orders.set(order.id, order);
    this.byClientOrderId.set(clientOrderId, order);
    this.live.add(order);
    return { order, ack: toBrokerOrder(order) };
  }

  /** Restores a stored order (sim-book.ts); later orders are numbered after it. */
  restoreOrder(order: SimOrder): void {
    this.orders.set(order.id, order);
    this.byClientOrderId.set(order.clientOrderId, order);
    if (isLive(order)) this.live.add(order);
    this.seq = Math.max(this.seq, order.seq);
    if (order.parentId !== null) {
      this.legIds.set(order.parentId, [...(this.legIds.get(order.parentId) ?? []), order.id]);
    }
  }

  /** Restores a stored execution and books it in the ledger again. */
  restoreExecution(execution: SimExecution): void {
    this.executionSeq = Math.max(this.executionSeq, execution.seq + 1);
    this.retainExecution(execution);
    this.ledger.applyFill(execution.symbol, execution.side, execution.qty, execution.price);
  }

  /** After a restore: the ended families, oldest first by sequence, then the bound applied. */
  restoreRetention(): void {
    const roots = [...this.orders.values()].filter((o) => o.parentId === null).sort((a, b) => a.seq - b.seq);
    for (const root of roots) this.noteEnded(root);
  }

  /** Keeps the newest executions only; the dropped ones stay in the durable book, if any. */
  private retainExecution(execution: SimExecution): void {
    this.executions.push(execution);
    const excess = this.executions.length - this.opts.retainedExecutions;
    if (excess <= 0) return;
    for (const dropped of this.executions.splice(0, excess)) {
      this.evictedExecutions += 1;
      const at = dropped.transactionTime;
      if (this.evictedThrough === null || at > this.evictedThrough) this.evictedThrough = at;
    }
  }

  /**
   * Called when `order` ended: once its whole family (top-level order and legs)
   * has ended, the family is queued for eviction, and the oldest ended families
   * beyond the bound leave memory. Live and held orders are never dropped.
   */
  private noteEnded(order: SimOrder): void {
    const root = order.parentId === null ? order : this.orders.get(order.parentId);
    if (root === undefined || this.ended.has(root.id)) return;
    const family = [root, ...this.legsOf(root)];
    if (family.some(isLive)) return;
    this.ended.set(root.id, family.length);
    this.endedCount += family.length;
    for (const [id, size] of this.ended) {
      if (this.endedCount <= this.opts.retainedEndedOrders) break;
      const dropped = this.orders.get(id);
      if (dropped === root) break; // the family that just ended always stays
      this.ended.delete(id);
      this.endedCount -= size;
      if (dropped !== undefined) this.evict(dropped);
    }
  }

  private evict(root: SimOrder): void {
    for (const o of [root, ...this.legsOf(root)]) {
      this.orders.delete(o.id);
      if (this.byClientOrderId.get(o.clientOrderId) === o) this.byClientOrderId.delete(o.clientOrderId);
      this.evictedIds.add(o.clientOrderId);
      this.live.remove(o);
      this.evictedOrders += 1;
    }
    this.legIds.delete(root.id);
  }

  /** Broker-side checks, after validation: tradable, size, buying power for what adds exposure. */
  checkRisk(terms: OrderTerms, replacing?: SimOrder): void {
    if (this.opts.rejectSymbols.has(terms.symbol)) throw unprocessable(`asset ${terms.symbol} is not tradable`);
    if (this.opts.maxQty !== null && terms.qty.gt(this.opts.maxQty)) {
      throw unprocessable(`qty ${terms.qty.toFixed()} exceeds the maximum order size ${this.opts.maxQty.toFixed()}`);
    }
    const needed = this.live.openingNotional(terms, terms.qty);
    if (needed.gt(0) && needed.gt(this.buyingPower(replacing))) throw forbidden('insufficient buying power');
  }

  equity(): Decimal {
    return this.ledger
      .openPositions()
      .reduce((sum, [symbol, p]) => sum.plus(p.qty.mul(this.referencePriceOf(symbol))), this.ledger.cash);
  }

  /** Long (≥ 0) and short (≤ 0) market value at the reference prices, Alpaca's signs. */
  marketValues(): { long: Decimal; short: Decimal } {
    return this.ledger.marketValues((symbol) => this.referencePriceOf(symbol));
  }

  /**
   * equity × multiplier − gross position value − the opening notional of open
   * orders (each judged against the current position), never below zero.
   */
  buyingPower(excluding?: SimOrder): Decimal {
    const gross = this.ledger
      .openPositions()
      .reduce((sum, [symbol, p]) => sum.plus(p.qty.abs().mul(this.referencePriceOf(symbol))), new Decimal(0));
    return Decimal.max(
      0,
      this.equity().mul(this.opts.buyingPowerMultiplier).minus(gross).minus(this.live.reserved(excluding)),
    );
  }

  /** Every change to an order comes through here: its symbol's reserve is summed again, and the journal saves it. */
  private changed(order: SimOrder): void {
    this.live.touch(order);
    this.journal?.order(order);
  }

  referencePriceOf(symbol: string): Decimal {
    return this.prices.get(symbol) ?? this.opts.defaultPrice;
  }

  liquidityOf(symbol: string): Decimal | null {
    const configured = this.liquidity.get(symbol);
    return configured === undefined ? this.opts.defaultLiquidity : configured;
  }

  /** Open orders, of one symbol or of all, in time priority. */
  openOrders(symbol?: string): SimOrder[] {
    return this.live.open(symbol);
  }

  /** An order's first look at the market; ioc/fok orders are decided here, once. */
  matchArrival(order: SimOrder): void {
    if (!isOpen(order)) return;
    const reference = this.referencePriceOf(order.symbol);
    const available = this.liquidityOf(order.symbol);
    if (order.timeInForce === 'fok') {
      const leaves = leavesQty(order);
      const complete = this.executable(order, reference) && (available === null || available.gte(leaves));
      if (complete) this.execute(order, leaves, reference);
      else this.finish(order, 'canceled', 'canceled');
      return;
    }
    this.fillAvailable(order, reference, available);
    if (order.timeInForce === 'ioc' && isOpen(order)) this.finish(order, 'canceled', 'canceled');
  }

  /** A price move: resting day/gtc orders, in time priority, share the liquidity of the move. */
  matchResting(symbol: string): void {
    const reference = this.referencePriceOf(symbol);
    let available = this.liquidityOf(symbol);
    const resting = this.openOrders(symbol).filter((o) => o.timeInForce !== 'ioc' && o.timeInForce !== 'fok');
    for (const order of resting) {
      if (available !== null && available.lte(0)) break;
      const filled = this.fillAvailable(order, reference, available);
      if (available !== null) available = available.minus(filled);
    }
  }

  /** Triggers a crossed stop (for good), then tells whether the order can trade at the reference. */
  private executable(order: SimOrder, reference: Decimal): boolean {
    if (!order.triggered && order.type === 'trailing_stop') {
      // The stop follows the best price first: a new best never crosses the stop it sets.
      const moved = ratchet(order, reference);
      if (!order.hwm?.eq(moved.hwm) || !order.stopPrice?.eq(moved.stopPrice)) {
        order.hwm = moved.hwm;
        order.stopPrice = moved.stopPrice;
        order.updatedAt = this.clock.now();
        this.changed(order);
      }
    }
    if (!order.triggered && stopCrossed(order, reference)) {
      order.triggered = true;
      this.changed(order);
    }
    return order.triggered && marketableAt(order, reference);
  }

  private fillAvailable(order: SimOrder, reference: Decimal, available: Decimal | null): Decimal {
    if (!this.executable(order, reference)) return new Decimal(0);
    const qty = available === null ? leavesQty(order) : Decimal.min(leavesQty(order), available);
    if (qty.lte(0)) return new Decimal(0);
    this.execute(order, qty, reference);
    return qty;
  }

  /** Books `qty` at `price` as `partialFills` executions, each with its own id and event. */
  private execute(order: SimOrder, qty: Decimal, price: Decimal): void {
    for (const part of splitQuantity(qty, this.opts.partialFills)) {
      const now = this.clock.now();
      order.filledQty = order.filledQty.plus(part);
      order.filledNotional = order.filledNotional.plus(part.mul(price));
      const complete = order.filledQty.eq(order.qty);
      order.status = complete ? 'filled' : 'partially_filled';
      order.updatedAt = now;
      if (complete) order.filledAt = now;
      const positionQty = this.ledger.applyFill(order.symbol, order.side, part, price);
      const execution: SimExecution = {
        seq: this.executionSeq++,
        executionId: this.opts.idFactory(),
        orderId: order.id,
        symbol: order.symbol,
        side: order.side,
        qty: part,
        price,
        cumQty: order.filledQty,
        leavesQty: leavesQty(order),
        positionQty,
        transactionTime: now,
      };
      this.retainExecution(execution);
      this.journal?.execution(execution);
      this.publish(complete ? 'fill' : 'partial_fill', order, {
        executionId: execution.executionId,
        qty: part.toFixed(),
        price: price.toFixed(),
        positionQty: positionQty.toFixed(),
      });
      this.afterExecution(order, complete);
      if (complete) this.noteEnded(order);
    }
  }

  /** Legs: an execution of one of an OCO pair cancels the other; an entry's complete fill releases its legs. */
  private afterExecution(order: SimOrder, complete: boolean): void {
    const sibling = this.ocoSiblingOf(order);
    if (sibling && isLive(sibling)) this.finish(sibling, 'canceled', 'canceled');
    if (!complete || order.parentId !== null || order.orderClass === 'oco') return;
    for (const leg of this.legsOf(order)) {
      if (leg.status !== 'held') continue;
      leg.status = 'new';
      leg.updatedAt = this.clock.now();
      this.publish('new', leg);
      this.deferFill(() => this.matchArrival(leg));
    }
  }

  finish(order: SimOrder, status: SimOrderStatus, event: OrderUpdateEvent): void {
    const now = this.clock.now();
    order.status = status;
    order.updatedAt = now;
    if (status === 'canceled') order.canceledAt = now;
    this.publish(event, order);
    this.noteEnded(order);
  }

  publish(event: OrderUpdateEvent, order: SimOrder, execution?: OrderUpdate['execution']): void {
    this.changed(order);
    const update: OrderUpdate = { event, order: toBrokerOrder(order), at: this.clock.now() };
    if (execution !== undefined) update.execution = execution;
    this.stream.publish(update);
  }
}
