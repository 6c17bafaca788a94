/**
 * `sim`: an in-process paper exchange behind the BrokerClient port, so the
 * whole gateway runs and demonstrates itself offline (docs/configuration.md#embedded-defaults).
 *
 * It behaves like a broker, not like a mock: commands are acknowledged (after
 * `latencyMs`) and their consequences — fills, cancels, expiries — arrive as
 * OrderUpdates on the stream, asynchronously and in order. Matching rules are
 * in sim-order.ts: every execution is at the symbol's reference price, which
 * for a marketable limit is the better of limit and reference. Prices walk
 * (sim-price-walker.ts) and, after `restore(store)`, the book is durable
 * (sim-book.ts); both in docs/simulator.md.
 *
 * Invariants:
 * - a client_order_id is taken forever once an order carried it (even after a
 *   cancel): a resubmission is a 422 duplicate, exactly like Alpaca's 40010001
 *   (without a durable book, only while the order is in memory: sim-lookup.ts);
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
import { Decimal } from '../../common/decimal';
import { Scheduler, SystemScheduler } from '../../infra/clock/scheduler';
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
  StreamState,
} from '../broker-client.port';
import { duplicateClientOrderId, lostResponse, notFound, unprocessable } from './sim-errors';
import { isSimBookArchive, restoreBook, SimJournal, type SimBookStore } from './sim-book';
import { SimBookLookup, type SimMemoryUse } from './sim-lookup';
import { SimEventStream } from './sim-event-stream';
import type { SimFault, SimFaultKind, SimFaultOptions } from './sim-faults';
import { SimRateLimit } from './sim-rate-limit';
import { handleSubmit } from './sim-submit';
import { SimExchange } from './sim-exchange';
import { isLive, isOpen, leavesQty, parseOrderTerms, validateClientOrderId, type SimOrder } from './sim-order';
import { closingTerms, replacedStop } from './sim-order';
import {
  nonNegativeDecimal,
  positiveDecimal,
  resolveSimOptions,
  type ResolvedSimOptions,
  type SimBrokerOptions,
} from './sim-options';
import { SimPriceWalker } from './sim-price-walker';
import { listPositions } from './sim-reports';

export type { SimFaultKind, SimFaultOptions } from './sim-faults';

export class SimBrokerClient implements BrokerClient {
  readonly name = 'sim';

  private readonly opts: ResolvedSimOptions;
  private readonly scheduler: Scheduler;
  private readonly stream: SimEventStream;
  private readonly ex: SimExchange;
  private readonly faults: SimFault[] = [];
  /** Submit calls by client_order_id, the most recent `retainedEndedOrders` ids only (bounded like the book). */
  private readonly submissions = new Map<string, number>();
  /** Latency and fill timers not fired yet (settle waits for them). */
  private readonly timers = new Set<Promise<void>>();
  private lastEquity: Decimal;
  private readonly walker: SimPriceWalker;
  private readonly walkScheduler: Scheduler;
  private journal: SimJournal | null = null;
  /** The request budget (docs/simulator.md#rate-limit): no limit unless `rateLimitPerMinute` is set. */
  readonly rateLimit: SimRateLimit;
  private readonly lookup: SimBookLookup;

  constructor(options: SimBrokerOptions) {
    this.opts = resolveSimOptions(options);
    this.rateLimit = new SimRateLimit(this.opts.rateLimitPerMinute);
    this.scheduler = options.scheduler ?? new SystemScheduler();
    this.walkScheduler = options.walkScheduler ?? this.scheduler;
    this.stream = new SimEventStream(this.scheduler);
    this.ex = new SimExchange(this.opts, this.stream, (fn) => this.afterFillLatency(fn));
    this.lastEquity = this.opts.startingCash;
    this.lookup = new SimBookLookup(this.ex);
    const ex = this.ex;
    this.walker = new SimPriceWalker(
      this.opts.priceWalk,
      {
        prices: ex.prices,
        defaultPrice: this.opts.defaultPrice,
        activeSymbols: () => [...ex.openOrders().map((o) => o.symbol), ...ex.ledger.openPositions().map(([s]) => s)],
      },
      (state, moved) => {
        this.journal?.price(state);
        if (moved) this.afterFillLatency(() => ex.matchResting(state.symbol));
      },
    );
  }

  // --- durability and the price walk (docs/simulator.md) --------------------

  /**
   * Makes the book durable in `store`: loads what it holds (orders, executions,
   * prices; the ledger is replayed) and from then on saves every change. Call
   * once, before the first command.
   */
  async restore(store: SimBookStore, onError: (err: unknown) => void = () => undefined): Promise<void> {
    if (this.journal !== null) throw new Error('the sim book is already attached to a store');
    const snapshot = await store.load();
    this.walker.restoreSteps(restoreBook(this.ex, snapshot));
    this.lastEquity = this.ex.equity();
    const journal = new SimJournal(store, onError);
    this.journal = journal;
    this.ex.journal = journal;
    this.stream.barrier = journal;
    if (isSimBookArchive(store)) this.lookup.attach(store, () => journal.flushed());
  }

  /** Starts the walk's timer (no-op at volatility 0). */
  startPriceWalk(): void {
    this.walker.start(this.walkScheduler, () => this.persistLater());
  }

  /** One step of the walk now, for every walking symbol (what the timer does). */
  stepPrices(): void {
    this.walker.stepAll();
    this.persistLater();
  }

  /** Stops the walk and waits for what is still to be saved. */
  async close(): Promise<void> {
    this.walker.stop();
    await this.journal?.flushed().catch(() => undefined);
  }

  /** Reference prices of the symbols the sim knows (configured, set, walked or traded), by symbol. */
  prices(): Array<{ symbol: string; price: string; step: number }> {
    return [...this.ex.prices.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([symbol, price]) => ({ symbol, price: price.toFixed(), step: this.walker.stepOf(symbol) }));
  }

  get defaultPrice(): string {
    return this.opts.defaultPrice.toFixed();
  }

  get priceWalk(): { seed: string; volatilityBps: string; stepMs: number; enabled: boolean } {
    const w = this.opts.priceWalk;
    return { seed: w.seed, volatilityBps: w.volatilityBps.toFixed(), stepMs: w.stepMs, enabled: this.walker.enabled };
  }

  /** What the book holds in memory, and what left it so far (docs/simulator.md#memory-and-retention). */
  memoryUse(): SimMemoryUse {
    return this.lookup.memoryUse();
  }

  get durable(): boolean {
    return this.journal !== null;
  }

  // --- commands ------------------------------------------------------------

  async submitOrder(req: BrokerOrderRequest, opts: { timeoutMs?: number } = {}): Promise<BrokerOrder> {
    const submitted = this.submissions.get(req.clientOrderId) ?? 0;
    this.submissions.delete(req.clientOrderId);
    this.submissions.set(req.clientOrderId, submitted + 1);
    if (this.submissions.size > this.opts.retainedEndedOrders)
      this.submissions.delete(this.submissions.keys().next().value!);
    this.admit();
    const fault = this.faults.shift();
    const answer = this.afterLatency(() =>
      handleSubmit(this.ex, req, fault, (id) => this.lookup.clientOrderIdTaken(id)),
    ).then((ack) => this.stored(ack));
    if (opts.timeoutMs === undefined || this.opts.latencyMs <= opts.timeoutMs) return answer;
    // The request still lands after the full latency; only its answer is lost.
    answer.catch(() => undefined);
    await this.delay(opts.timeoutMs);
    throw lostResponse(`no answer within ${opts.timeoutMs} ms; the order may have been accepted`);
  }

  async cancelOrder(brokerOrderId: string): Promise<void> {
    this.admit();
    await this.delay(this.opts.latencyMs);
    const found = this.onBook(brokerOrderId);
    const order = found instanceof Promise ? await found : found;
    if (!isLive(order)) throw unprocessable(`order is not cancelable (status ${order.status})`);
    this.ex.cancel(order);
    await this.stored(undefined);
  }

  async replaceOrder(brokerOrderId: string, req: BrokerReplaceRequest): Promise<BrokerOrder> {
    this.admit();
    await this.delay(this.opts.latencyMs);
    const found = this.onBook(brokerOrderId);
    const old = found instanceof Promise ? await found : found;
    if (!isOpen(old)) throw unprocessable(`order is not replaceable (status ${old.status})`);
    const clientOrderId = validateClientOrderId(req.clientOrderId ?? this.opts.idFactory());
    const taken = this.lookup.clientOrderIdTaken(clientOrderId);
    if (taken instanceof Promise ? await taken : taken) throw duplicateClientOrderId(clientOrderId);
    if (!isOpen(old)) throw unprocessable(`order is not replaceable (status ${old.status})`); // changed meanwhile
    const terms = parseOrderTerms({
      symbol: old.symbol,
      side: old.side,
      type: old.type,
      timeInForce: req.timeInForce ?? old.timeInForce,
      qty: req.qty ?? leavesQty(old).toFixed(),
      limitPrice: req.limitPrice ?? old.limitPrice?.toFixed() ?? null,
      ...replacedStop(old, req.stopPrice, req.trail),
    });
    this.ex.checkRisk(terms, old);

    const replacement = this.ex.open(clientOrderId, terms, old.id);
    old.replacedBy = replacement.order.id;
    this.ex.finish(old, 'replaced', 'replaced');
    this.ex.publish('new', replacement.order);
    this.afterFillLatency(() => this.ex.matchArrival(replacement.order));
    return this.stored(replacement.ack);
  }

  async cancelAllOrders(): Promise<Array<{ brokerOrderId: string; status: number }>> {
    this.admit();
    await this.delay(this.opts.latencyMs);
    return this.stored(this.ex.cancelAll());
  }

  async closePosition(symbol: string, opts: { qty?: string } = {}): Promise<BrokerOrder> {
    this.admit();
    await this.delay(this.opts.latencyMs);
    const position = this.ex.ledger.positionQty(symbol);
    if (position.isZero()) throw notFound(`position does not exist: ${symbol}`);
    const terms = closingTerms(symbol, position, opts.qty);
    return this.stored(this.ex.accept(this.opts.idFactory(), terms));
  }

  // --- reports -------------------------------------------------------------

  /** An ended order that left memory is read from the durable book, if any (docs/simulator.md#memory-and-retention). */
  async getOrder(brokerOrderId: string): Promise<BrokerOrder | null> {
    this.admit();
    return this.lookup.report({ id: brokerOrderId });
  }

  async getOrderByClientOrderId(clientOrderId: string): Promise<BrokerOrder | null> {
    this.admit();
    return this.lookup.report({ clientOrderId });
  }

  /** Newest first (Alpaca's default direction); `after`/`until` are exclusive bounds on created_at. */
  async listOrders(q: ListOrdersQuery): Promise<BrokerOrder[]> {
    this.admit();
    return this.lookup.listOrders(q);
  }

  async listPositions(): Promise<BrokerPosition[]> {
    this.admit();
    return listPositions(this.ex);
  }

  /**
   * Executions oldest first. The page token is the last execution id received;
   * `after`/`until` are exclusive bounds on the transaction time.
   */
  async listFills(q: ListFillsQuery): Promise<{ fills: BrokerFill[]; nextPageToken: string | null }> {
    this.admit();
    return this.lookup.listFills(q);
  }

  async getAccount(): Promise<BrokerAccount> {
    this.admit();
    const { long, short } = this.ex.marketValues();
    return {
      id: this.opts.accountId,
      status: 'ACTIVE',
      currency: 'USD',
      cash: this.ex.ledger.cash.toFixed(),
      equity: this.ex.equity().toFixed(),
      buyingPower: this.ex.buyingPower().toFixed(),
      lastEquity: this.lastEquity.toFixed(),
      longMarketValue: long.toFixed(),
      shortMarketValue: short.toFixed(),
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
    const value = positiveDecimal(price, `price of ${symbol}`);
    this.ex.prices.set(symbol, value);
    this.journal?.price({ symbol, price: value, step: this.walker.stepOf(symbol) });
    this.persistLater();
    this.afterFillLatency(() => this.ex.matchResting(symbol));
  }

  /** Shares available per match for the symbol; `null` for unlimited. */
  setLiquidity(symbol: string, qty: string | null): void {
    this.ex.liquidity.set(symbol, qty === null ? null : nonNegativeDecimal(qty, `liquidity of ${symbol}`));
  }

  /** The close: open `day` orders expire; last equity is marked. Returns the expired orders. */
  endOfDay(): BrokerOrder[] {
    const expired = this.ex.openOrders().filter((o) => o.timeInForce === 'day');
    for (const order of expired) this.ex.finish(order, 'expired', 'expired');
    this.lastEquity = this.ex.equity();
    return expired.map((o) => this.ex.report(o));
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

  /** A symbol looked up while the walk is on starts walking from the default price. */
  referencePrice(symbol: string): string {
    if (this.walker.enabled && !this.ex.prices.has(symbol)) this.ex.prices.set(symbol, this.opts.defaultPrice);
    return this.ex.referencePriceOf(symbol).toFixed();
  }

  /** Realized P&L of the symbol since the start (flat positions included). */
  realizedPl(symbol: string): string {
    return (this.ex.ledger.position(symbol)?.realizedPl ?? new Decimal(0)).toFixed();
  }

  /** Errors thrown by stream handlers (delivery went on). */
  get handlerErrors(): readonly unknown[] {
    return this.stream.handlerErrors;
  }

  /**
   * Resolves once no latency or fill timer is pending and every queued update has been delivered.
   * Under a ManualScheduler the timers fire only as the test advances it.
   */
  async settle(): Promise<void> {
    while (this.timers.size > 0 || !this.stream.isIdle()) {
      await (this.timers.size > 0 ? Promise.race(this.timers) : this.stream.whenIdle());
    }
  }

  // --- internals -----------------------------------------------------------

  /** A trading call counts against the request budget; above it, Alpaca's 429 and nothing acted on. */
  private admit(): void {
    const refused = this.rateLimit.take(this.opts.clock.now().getTime());
    if (refused) throw refused;
  }

  /** With a store: answers only once the change is saved (a failed save is a lost answer, as on a venue). */
  private stored<T>(value: T): T | Promise<T> {
    if (this.journal === null) return value;
    return this.journal.flushed().then(
      () => value,
      () => {
        throw lostResponse('the sim exchange could not store the change; it may still be applied');
      },
    );
  }

  /** Saves in the background (the journal retries a failed batch with the next one). */
  private persistLater(): void {
    this.journal?.flushed().catch(() => undefined);
  }

  /** The order by id: in memory (at once), or ended and read back from the durable book; else 404. */
  private onBook(brokerOrderId: string): SimOrder | Promise<SimOrder> {
    const order = this.ex.orders.get(brokerOrderId);
    if (order !== undefined) return order;
    return this.lookup.find({ id: brokerOrderId }).then(([stored]) => {
      if (stored === undefined) throw notFound(`order ${brokerOrderId} not found`);
      return stored;
    });
  }

  private afterLatency<T>(fn: () => T | Promise<T>): Promise<T> {
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
    let fired!: () => void;
    const timer = new Promise<void>((resolve) => (fired = resolve));
    this.timers.add(timer);
    this.scheduler.after(ms, () => {
      this.timers.delete(timer);
      try {
        fn();
      } finally {
        fired();
      }
    });
  }
}
