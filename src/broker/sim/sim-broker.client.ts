/**
 * `sim`: an in-process paper exchange behind the BrokerClient port, so the
 * whole gateway runs and demonstrates itself offline (SPEC §3).
 *
 * It behaves like a broker, not like a mock: commands are acknowledged (after
 * `latencyMs`) and their consequences — fills, cancels, expiries — arrive as
 * OrderUpdates on the stream, asynchronously and in order. Matching rules are
 * in sim-order.ts: every execution is at the symbol's reference price, which
 * for a marketable limit is the better of limit and reference.
 *
 * Invariants:
 * - a client_order_id is taken forever once an order carried it (even after a
 *   cancel): a resubmission is a 422 duplicate, exactly like Alpaca's 40010001;
 * - only the broker's definitive word is `rejected`; an injected lost answer or
 *   a deadline shorter than the latency is `unknown_outcome`, and with
 *   `acceptThenLose` (or a missed deadline) the order exists all the same;
 * - an order's cumulative filled qty never decreases and never exceeds its qty;
 *   each execution has its own id and is booked once in the ledger;
 * - ioc and fok orders never rest: whatever did not fill on arrival is canceled
 *   (fok fills completely or not at all);
 * - money is decimal throughout; no binary float touches a price or a quantity.
 *
 * Replaces: the replacement is a new order for `qty` (default: the old order's
 * unfilled rest), starting unfilled; executions stay with the order they hit.
 */
import { Decimal, normalizeWholeQuantity } from '../../common/decimal';
import type { Clock } from '../../infra/clock/clock';
import type {
  BrokerAccount,
  BrokerClient,
  BrokerFill,
  BrokerOrder,
  BrokerOrderRequest,
  BrokerPosition,
  BrokerReplaceRequest,
  BrokerStreamHandlers,
  ListFillsQuery,
  ListOrdersQuery,
  OrderUpdate,
  OrderUpdateEvent,
  StreamState,
} from '../broker-client.port';
import {
  duplicateClientOrderId,
  forbidden,
  invalidRequest,
  lostResponse,
  notFound,
  rateLimited,
  unprocessable,
} from './sim-errors';
import { SimEventStream } from './sim-event-stream';
import { SimLedger } from './sim-ledger';
import {
  isOpen,
  isStop,
  leavesQty,
  marketableAt,
  openingQuantity,
  parseOrderTerms,
  splitQuantity,
  stopCrossed,
  toBrokerOrder,
  validateClientOrderId,
  type OrderTerms,
  type SimOrder,
  type SimOrderStatus,
} from './sim-order';
import {
  nonNegativeDecimal,
  positiveDecimal,
  resolveSimOptions,
  type ResolvedSimOptions,
  type SimBrokerOptions,
} from './sim-options';

export type SimFaultKind = 'unknown_outcome' | 'retryable' | 'rejected';

export interface SimFaultOptions {
  /** unknown_outcome: the order is accepted (and trades) but the answer is lost. */
  acceptThenLose?: boolean;
  /** rejected: acknowledge the order as `new`, then reject it on the stream (a venue-side reject). */
  afterAck?: boolean;
  /** retryable: the Retry-After the broker announces. Default 1000. */
  retryAfterMs?: number;
  message?: string;
}

interface SimFault extends SimFaultOptions {
  kind: SimFaultKind;
}

interface SimExecution {
  seq: number;
  executionId: string;
  orderId: string;
  symbol: string;
  side: OrderTerms['side'];
  qty: Decimal;
  price: Decimal;
  cumQty: Decimal;
  leavesQty: Decimal;
  positionQty: Decimal;
  transactionTime: Date;
}

const MAX_LIST_ORDERS = 500;
const DEFAULT_LIST_ORDERS = 50;
const MAX_FILLS_PAGE = 100;

export class SimBrokerClient implements BrokerClient {
  readonly name = 'sim';

  private readonly opts: ResolvedSimOptions;
  private readonly clock: Clock;
  private readonly prices: Map<string, Decimal>;
  private readonly liquidity: Map<string, Decimal | null>;
  private readonly orders = new Map<string, SimOrder>();
  private readonly byClientOrderId = new Map<string, SimOrder>();
  private readonly executions: SimExecution[] = [];
  private readonly ledger: SimLedger;
  private readonly stream = new SimEventStream();
  private readonly faults: SimFault[] = [];
  private readonly submissions = new Map<string, number>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private seq = 0;
  private lastEquity: Decimal;

  constructor(options: SimBrokerOptions) {
    this.opts = resolveSimOptions(options);
    this.clock = this.opts.clock;
    this.prices = new Map(this.opts.referencePrices);
    this.liquidity = new Map(this.opts.liquidity);
    this.ledger = new SimLedger(this.opts.startingCash);
    this.lastEquity = this.opts.startingCash;
  }

  // --- commands ------------------------------------------------------------

  async submitOrder(req: BrokerOrderRequest, opts: { timeoutMs?: number } = {}): Promise<BrokerOrder> {
    this.submissions.set(req.clientOrderId, (this.submissions.get(req.clientOrderId) ?? 0) + 1);
    const fault = this.faults.shift();
    const answer = this.afterLatency(() => this.handleSubmit(req, fault));
    if (opts.timeoutMs === undefined || this.opts.latencyMs <= opts.timeoutMs) return answer;
    // The request still lands after the full latency; only its answer is lost.
    answer.catch(() => undefined);
    await this.delay(opts.timeoutMs);
    throw lostResponse(`no answer within ${opts.timeoutMs} ms; the order may have been accepted`);
  }

  async cancelOrder(brokerOrderId: string): Promise<void> {
    await this.delay(this.opts.latencyMs);
    const order = this.orders.get(brokerOrderId);
    if (order === undefined) throw notFound(`order ${brokerOrderId} not found`);
    if (!isOpen(order)) throw unprocessable(`order is not cancelable (status ${order.status})`);
    this.finish(order, 'canceled', 'canceled');
  }

  async replaceOrder(brokerOrderId: string, req: BrokerReplaceRequest): Promise<BrokerOrder> {
    await this.delay(this.opts.latencyMs);
    const old = this.orders.get(brokerOrderId);
    if (old === undefined) throw notFound(`order ${brokerOrderId} not found`);
    if (!isOpen(old)) throw unprocessable(`order is not replaceable (status ${old.status})`);
    const clientOrderId = validateClientOrderId(req.clientOrderId ?? this.opts.idFactory());
    if (this.byClientOrderId.has(clientOrderId)) throw duplicateClientOrderId(clientOrderId);
    const terms = parseOrderTerms({
      symbol: old.symbol,
      side: old.side,
      type: old.type,
      timeInForce: req.timeInForce ?? old.timeInForce,
      qty: req.qty ?? leavesQty(old).toFixed(),
      limitPrice: req.limitPrice ?? old.limitPrice?.toFixed() ?? null,
      stopPrice: req.stopPrice ?? old.stopPrice?.toFixed() ?? null,
    });
    this.checkRisk(terms, old);

    const replacement = this.open(clientOrderId, terms, old.id);
    old.replacedBy = replacement.order.id;
    this.finish(old, 'replaced', 'replaced');
    this.publish('new', replacement.order);
    this.afterFillLatency(() => this.matchArrival(replacement.order));
    return replacement.ack;
  }

  async cancelAllOrders(): Promise<Array<{ brokerOrderId: string; status: number }>> {
    await this.delay(this.opts.latencyMs);
    return this.openOrders().map((order) => {
      this.finish(order, 'canceled', 'canceled');
      return { brokerOrderId: order.id, status: 200 };
    });
  }

  async closePosition(symbol: string, opts: { qty?: string } = {}): Promise<BrokerOrder> {
    await this.delay(this.opts.latencyMs);
    const position = this.ledger.positionQty(symbol);
    if (position.isZero()) throw notFound(`position does not exist: ${symbol}`);
    let qty = position.abs();
    if (opts.qty !== undefined) {
      const wanted = normalizeWholeQuantity(opts.qty);
      if (wanted === undefined || new Decimal(wanted).lte(0))
        throw invalidRequest('qty must be a positive whole number');
      if (new Decimal(wanted).gt(qty))
        throw forbidden(`insufficient qty available for order (position ${qty.toFixed()})`);
      qty = new Decimal(wanted);
    }
    const terms: OrderTerms = {
      symbol,
      side: position.gt(0) ? 'sell' : 'buy',
      type: 'market',
      timeInForce: 'day',
      qty,
      limitPrice: null,
      stopPrice: null,
    };
    return this.accept(this.opts.idFactory(), terms);
  }

  // --- reports -------------------------------------------------------------

  async getOrder(brokerOrderId: string): Promise<BrokerOrder | null> {
    const order = this.orders.get(brokerOrderId);
    return order === undefined ? null : toBrokerOrder(order);
  }

  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | null> {
    const order = this.byClientOrderId.get(clientOrderId);
    return order === undefined ? null : toBrokerOrder(order);
  }

  /** Newest first (Alpaca's default direction); `after`/`until` are exclusive bounds on created_at. */
  async listOrders(q: ListOrdersQuery): Promise<BrokerOrder[]> {
    const limit = q.limit ?? DEFAULT_LIST_ORDERS;
    if (!Number.isSafeInteger(limit) || limit < 1) throw invalidRequest(`invalid limit: ${limit}`);
    const symbols = q.symbols && q.symbols.length > 0 ? new Set(q.symbols) : null;
    return [...this.orders.values()]
      .filter((o) => q.status === 'all' || (q.status === 'open') === isOpen(o))
      .filter((o) => symbols === null || symbols.has(o.symbol))
      .filter((o) => q.after === undefined || o.createdAt.getTime() > q.after.getTime())
      .filter((o) => q.until === undefined || o.createdAt.getTime() < q.until.getTime())
      .sort((a, b) => b.seq - a.seq)
      .slice(0, Math.min(limit, MAX_LIST_ORDERS))
      .map(toBrokerOrder);
  }

  async listPositions(): Promise<BrokerPosition[]> {
    return this.ledger.openPositions().map(([symbol, p]) => {
      const current = this.referencePriceOf(symbol);
      return {
        symbol,
        qty: p.qty.toFixed(),
        avgEntryPrice: p.avgEntryPrice.toFixed(),
        marketValue: p.qty.mul(current).toFixed(),
        currentPrice: current.toFixed(),
        unrealizedPl: current.minus(p.avgEntryPrice).mul(p.qty).toFixed(),
      };
    });
  }

  /**
   * Executions oldest first. The page token is the last execution id received;
   * `after`/`until` are exclusive bounds on the transaction time.
   */
  async listFills(q: ListFillsQuery): Promise<{ fills: BrokerFill[]; nextPageToken: string | null }> {
    const pageSize = q.pageSize ?? MAX_FILLS_PAGE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw invalidRequest(`invalid page_size: ${pageSize}`);
    let fromSeq = -1;
    if (q.pageToken !== undefined) {
      const anchor = this.executions.find((e) => e.executionId === q.pageToken);
      if (anchor === undefined) throw invalidRequest(`invalid page_token: ${q.pageToken}`);
      fromSeq = anchor.seq;
    }
    const matching = this.executions.filter(
      (e) =>
        e.seq > fromSeq &&
        (q.after === undefined || e.transactionTime.getTime() > q.after.getTime()) &&
        (q.until === undefined || e.transactionTime.getTime() < q.until.getTime()),
    );
    const page = matching.slice(0, Math.min(pageSize, MAX_FILLS_PAGE));
    const last = page[page.length - 1];
    return {
      fills: page.map((e) => ({
        executionId: e.executionId,
        brokerOrderId: e.orderId,
        symbol: e.symbol,
        side: e.side,
        qty: e.qty.toFixed(),
        price: e.price.toFixed(),
        cumQty: e.cumQty.toFixed(),
        leavesQty: e.leavesQty.toFixed(),
        transactionTime: new Date(e.transactionTime.getTime()),
      })),
      nextPageToken: last !== undefined && matching.length > page.length ? last.executionId : null,
    };
  }

  async getAccount(): Promise<BrokerAccount> {
    return {
      id: this.opts.accountId,
      status: 'ACTIVE',
      currency: 'USD',
      cash: this.ledger.cash.toFixed(),
      equity: this.equity().toFixed(),
      buyingPower: this.buyingPower().toFixed(),
      lastEquity: this.lastEquity.toFixed(),
      tradingBlocked: false,
    };
  }

  // --- the update stream ---------------------------------------------------

  async connect(handlers: BrokerStreamHandlers): Promise<void> {
    this.stream.connect(handlers);
  }

  async disconnect(): Promise<void> {
    this.stream.disconnect();
  }

  streamState(): StreamState {
    return this.stream.state();
  }

  // --- control surface (demos and tests) -----------------------------------

  /** Moves the reference price; resting orders it crosses trigger and fill (after `fillLatencyMs`). */
  setPrice(symbol: string, price: string): void {
    this.prices.set(symbol, positiveDecimal(price, `price of ${symbol}`));
    this.afterFillLatency(() => this.matchResting(symbol));
  }

  /** Shares available per match for the symbol; `null` for unlimited. */
  setLiquidity(symbol: string, qty: string | null): void {
    this.liquidity.set(symbol, qty === null ? null : nonNegativeDecimal(qty, `liquidity of ${symbol}`));
  }

  /** The close: open `day` orders expire; last equity is marked. Returns the expired orders. */
  endOfDay(): BrokerOrder[] {
    const expired = this.openOrders().filter((o) => o.timeInForce === 'day');
    for (const order of expired) this.finish(order, 'expired', 'expired');
    this.lastEquity = this.equity();
    return expired.map(toBrokerOrder);
  }

  /** The next `n` submitOrder calls fail with this kind of broker fault. */
  failNext(kind: SimFaultKind, n = 1, options: SimFaultOptions = {}): void {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
    for (let i = 0; i < n; i += 1) this.faults.push({ kind, ...options });
  }

  /** The stream drops under the consumer: updates meanwhile are lost, as on a real socket. */
  dropStream(reason = 'simulated connection loss'): void {
    this.stream.drop(reason);
  }

  /** The dropped stream comes back; the consumer hears onConnected(true) and should re-sync. */
  restoreStream(): void {
    this.stream.restore();
  }

  /** How many times submitOrder was called with this client_order_id (failed calls included). */
  submissionCount(clientOrderId: string): number {
    return this.submissions.get(clientOrderId) ?? 0;
  }

  pendingFaults(): number {
    return this.faults.length;
  }

  referencePrice(symbol: string): string {
    return this.referencePriceOf(symbol).toFixed();
  }

  /** Realized P&L of the symbol since the start (flat positions included). */
  realizedPl(symbol: string): string {
    return (this.ledger.position(symbol)?.realizedPl ?? new Decimal(0)).toFixed();
  }

  /** Errors thrown by stream handlers (delivery went on). */
  get handlerErrors(): readonly unknown[] {
    return this.stream.handlerErrors;
  }

  /** Resolves once no latency or fill timer is pending and every queued update has been delivered. */
  async settle(): Promise<void> {
    while (this.timers.size > 0 || !this.stream.isIdle()) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  // --- internals -----------------------------------------------------------

  private handleSubmit(req: BrokerOrderRequest, fault: SimFault | undefined): BrokerOrder {
    if (fault?.kind === 'retryable') {
      throw rateLimited(fault.message ?? 'too many requests (simulated)', fault.retryAfterMs ?? 1000);
    }
    if (fault?.kind === 'rejected' && !fault.afterAck) {
      throw forbidden(fault.message ?? 'order rejected (simulated broker fault)');
    }
    if (fault?.kind === 'unknown_outcome' && !fault.acceptThenLose) {
      throw lostResponse(fault.message ?? 'no answer from the broker (simulated)');
    }

    const clientOrderId = validateClientOrderId(req.clientOrderId);
    if (this.byClientOrderId.has(clientOrderId)) throw duplicateClientOrderId(clientOrderId);
    const terms = parseOrderTerms(req);
    this.checkRisk(terms);
    const rejectAfterAck =
      fault?.kind === 'rejected' ? (fault.message ?? 'order rejected by the venue (simulated)') : undefined;
    const ack = this.accept(clientOrderId, terms, rejectAfterAck);

    if (fault?.kind === 'unknown_outcome') {
      throw lostResponse(fault.message ?? 'the broker accepted the order but its answer was lost (simulated)');
    }
    return ack;
  }

  /** Puts a validated order on the book: `new` event, then matching (or a venue-side reject). */
  private accept(clientOrderId: string, terms: OrderTerms, rejectAfterAck?: string): BrokerOrder {
    const { order, ack } = this.open(clientOrderId, terms, null);
    this.publish('new', order);
    if (rejectAfterAck !== undefined) this.finish(order, 'rejected', 'rejected');
    else this.afterFillLatency(() => this.matchArrival(order));
    return ack;
  }

  private open(
    clientOrderId: string,
    terms: OrderTerms,
    replaces: string | null,
  ): { order: SimOrder; ack: BrokerOrder } {
    const now = this.clock.now();
    this.seq += 1;
    const order: SimOrder = {
      ...terms,
      seq: this.seq,
      id: this.opts.idFactory(),
      clientOrderId,
      replaces,
      status: 'new',
      triggered: !isStop(terms.type),
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
    return { order, ack: toBrokerOrder(order) };
  }

  /** Broker-side checks, after validation: tradable, size, buying power for what adds exposure. */
  private checkRisk(terms: OrderTerms, replacing?: SimOrder): void {
    if (this.opts.rejectSymbols.has(terms.symbol)) throw unprocessable(`asset ${terms.symbol} is not tradable`);
    if (this.opts.maxQty !== null && terms.qty.gt(this.opts.maxQty)) {
      throw unprocessable(`qty ${terms.qty.toFixed()} exceeds the maximum order size ${this.opts.maxQty.toFixed()}`);
    }
    const needed = this.openingNotional(terms, terms.qty);
    if (needed.gt(0) && needed.gt(this.buyingPower(replacing))) throw forbidden('insufficient buying power');
  }

  /** Notional of the part of `qty` that opens or adds exposure, at the price the order would likely pay. */
  private openingNotional(terms: OrderTerms, qty: Decimal): Decimal {
    const opening = openingQuantity(terms.side, qty, this.ledger.positionQty(terms.symbol));
    if (opening.isZero()) return opening;
    const reference = this.referencePriceOf(terms.symbol);
    const price = terms.limitPrice ?? (terms.stopPrice !== null ? Decimal.max(terms.stopPrice, reference) : reference);
    return opening.mul(price);
  }

  private equity(): Decimal {
    return this.ledger
      .openPositions()
      .reduce((sum, [symbol, p]) => sum.plus(p.qty.mul(this.referencePriceOf(symbol))), this.ledger.cash);
  }

  /**
   * equity × multiplier − gross position value − the opening notional of open
   * orders (each judged against the current position), never below zero.
   */
  private buyingPower(excluding?: SimOrder): Decimal {
    const gross = this.ledger
      .openPositions()
      .reduce((sum, [symbol, p]) => sum.plus(p.qty.abs().mul(this.referencePriceOf(symbol))), new Decimal(0));
    const reserved = this.openOrders()
      .filter((o) => o !== excluding)
      .reduce((sum, o) => sum.plus(this.openingNotional(o, leavesQty(o))), new Decimal(0));
    return Decimal.max(0, this.equity().mul(this.opts.buyingPowerMultiplier).minus(gross).minus(reserved));
  }

  private referencePriceOf(symbol: string): Decimal {
    return this.prices.get(symbol) ?? this.opts.defaultPrice;
  }

  private liquidityOf(symbol: string): Decimal | null {
    const configured = this.liquidity.get(symbol);
    return configured === undefined ? this.opts.defaultLiquidity : configured;
  }

  /** Time priority. */
  private openOrders(): SimOrder[] {
    return [...this.orders.values()].filter(isOpen).sort((a, b) => a.seq - b.seq);
  }

  /** An order's first look at the market; ioc/fok orders are decided here, once. */
  private matchArrival(order: SimOrder): void {
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
  private matchResting(symbol: string): void {
    const reference = this.referencePriceOf(symbol);
    let available = this.liquidityOf(symbol);
    const resting = this.openOrders().filter(
      (o) => o.symbol === symbol && o.timeInForce !== 'ioc' && o.timeInForce !== 'fok',
    );
    for (const order of resting) {
      if (available !== null && available.lte(0)) break;
      const filled = this.fillAvailable(order, reference, available);
      if (available !== null) available = available.minus(filled);
    }
  }

  /** Triggers a crossed stop (for good), then tells whether the order can trade at the reference. */
  private executable(order: SimOrder, reference: Decimal): boolean {
    if (!order.triggered && stopCrossed(order, reference)) order.triggered = true;
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
        seq: this.executions.length,
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
      this.executions.push(execution);
      this.publish(complete ? 'fill' : 'partial_fill', order, {
        executionId: execution.executionId,
        qty: part.toFixed(),
        price: price.toFixed(),
        positionQty: positionQty.toFixed(),
      });
    }
  }

  private finish(order: SimOrder, status: SimOrderStatus, event: OrderUpdateEvent): void {
    const now = this.clock.now();
    order.status = status;
    order.updatedAt = now;
    if (status === 'canceled') order.canceledAt = now;
    this.publish(event, order);
  }

  private publish(event: OrderUpdateEvent, order: SimOrder, execution?: OrderUpdate['execution']): void {
    const update: OrderUpdate = { event, order: toBrokerOrder(order), at: this.clock.now() };
    if (execution !== undefined) update.execution = execution;
    this.stream.publish(update);
  }

  private afterLatency<T>(fn: () => T): Promise<T> {
    return this.delay(this.opts.latencyMs).then(fn);
  }

  private afterFillLatency(fn: () => void): void {
    if (this.opts.fillLatencyMs <= 0) fn();
    else this.later(this.opts.fillLatencyMs, fn);
  }

  private delay(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.later(ms, resolve));
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }
}
