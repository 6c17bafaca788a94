/**
 * Durability of the sim's book (docs/simulator.md#durability): what is
 * stored, how it is restored, and the journal that writes changes behind the
 * exchange in the order they happened.
 *
 * Invariants:
 * - stored: every order (any status, so a client_order_id stays taken), every
 *   execution, and each walked symbol's price and step; positions and cash are
 *   NOT stored but replayed from the executions (starting cash + fills), so
 *   the restored ledger is exactly the one that was lost;
 * - the journal saves one batch at a time, in order; a batch that fails is
 *   put back and retried with the next one (nothing is dropped silently);
 * - `flushed()` resolves once everything marked before the call is saved (or
 *   rejects with the save's error): commands answer, and stream updates are
 *   delivered, only after their state is durable.
 */
import { Decimal } from '../../common/decimal';
import type { SimExecution, SimExchange } from './sim-exchange';
import type { SimOrder } from './sim-order';

export interface SimPriceState {
  symbol: string;
  price: Decimal;
  /** Steps the walk has taken for this symbol. */
  step: number;
}

export interface SimBookSnapshot {
  orders: SimOrder[];
  executions: SimExecution[];
  prices: SimPriceState[];
}

export interface SimBookChanges {
  /** Full rows (upserts by id). */
  orders: SimOrder[];
  /** New executions (inserted once; a repeat is ignored). */
  executions: SimExecution[];
  prices: SimPriceState[];
}

/** Where the sim keeps its book (the gateway's PostgreSQL in production, memory in tests). */
export interface SimBookStore {
  load(): Promise<SimBookSnapshot>;
  save(changes: SimBookChanges): Promise<void>;
}

/** What a book lists of its orders (top-level ones, newest first; legs come with their parent). */
export interface SimArchiveOrdersQuery {
  status: 'open' | 'closed' | 'all';
  after?: Date;
  until?: Date;
  symbols: string[] | null;
  limit: number;
}

export interface SimArchiveFillsQuery {
  /** Executions after this sequence number, oldest first. */
  afterSeq: number;
  after?: Date;
  until?: Date;
  limit: number;
}

/**
 * Reads of a durable book, for what left the sim's memory
 * (docs/simulator.md#memory-and-retention). Every read is one indexed query.
 */
export interface SimBookArchive {
  /** The order with this id or client order id, its legs after it (a leg alone); [] when unknown. */
  findOrder(key: { id: string } | { clientOrderId: string }): Promise<SimOrder[]>;
  /** Top-level orders with their legs after each. */
  listOrders(q: SimArchiveOrdersQuery): Promise<SimOrder[]>;
  listFills(q: SimArchiveFillsQuery): Promise<SimExecution[]>;
  /** The sequence number of a stored execution, null when unknown. */
  fillSeq(executionId: string): Promise<number | null>;
}

export function isSimBookArchive(store: SimBookStore): store is SimBookStore & SimBookArchive {
  const s = store as Partial<SimBookArchive>;
  return typeof s.findOrder === 'function' && typeof s.listFills === 'function';
}

function bySeq<T extends { seq: number }>(at: (x: T) => Date, id: (x: T) => string) {
  return (a: T, b: T) => a.seq - b.seq || at(a).getTime() - at(b).getTime() || (id(a) < id(b) ? -1 : 1);
}

/**
 * Puts a stored book back on an empty exchange: orders and executions in
 * their stored sequence (renumbered from 1 / 0 so new ones follow), the
 * ledger replayed from the executions, prices as they were.
 */
export function restoreBook(ex: SimExchange, snapshot: SimBookSnapshot): Map<string, number> {
  const orders = [...snapshot.orders].sort(
    bySeq(
      (o) => o.createdAt,
      (o) => o.id,
    ),
  );
  orders.forEach((o, i) => ex.restoreOrder({ ...o, seq: i + 1 }));
  const executions = [...snapshot.executions].sort(
    bySeq(
      (e) => e.transactionTime,
      (e) => e.executionId,
    ),
  );
  executions.forEach((e, i) => ex.restoreExecution({ ...e, seq: i }));
  ex.restoreRetention();
  const steps = new Map<string, number>();
  for (const p of snapshot.prices) {
    ex.prices.set(p.symbol, p.price);
    steps.set(p.symbol, p.step);
  }
  return steps;
}

export class SimJournal {
  private orders = new Map<string, SimOrder>();
  private executions: SimExecution[] = [];
  private prices = new Map<string, SimPriceState>();
  /** The save under way (rejects when it fails), or a resolved promise. */
  private inflight: Promise<void> = Promise.resolve();
  /** The next save, waiting for `inflight`: everything marked until it starts goes in it. */
  private next: Promise<void> | null = null;
  private failure: unknown = null;
  /** Changes marked so far; the count when the last batch was cut; the count saved through. */
  private marks = 0;
  private cutMark = 0;
  private savedMark = 0;

  constructor(
    private readonly store: SimBookStore,
    private readonly onError: (err: unknown) => void,
  ) {}

  order(order: SimOrder): void {
    this.marks += 1;
    this.orders.set(order.id, order);
  }

  execution(execution: SimExecution): void {
    this.marks += 1;
    this.executions.push(execution);
  }

  price(state: SimPriceState): void {
    this.marks += 1;
    this.prices.set(state.symbol, state);
  }

  /** A token for "everything marked so far" (see `until`). */
  get mark(): number {
    return this.marks;
  }

  /**
   * Resolves once everything marked up to `mark` is saved, without waiting
   * for changes marked after it (a stream update waits for its own change
   * only, not for the book's later ones); rejects if that batch failed.
   */
  until(mark: number): Promise<void> {
    if (mark <= this.savedMark) return Promise.resolve();
    if (mark <= this.cutMark) return this.inflight;
    return this.flushed();
  }

  /**
   * Resolves once what is marked now is saved; rejects if its batch could not
   * be saved. Group commit: while a save is under way, callers share the next
   * batch, cut when that save ends.
   */
  flushed(): Promise<void> {
    if (this.next !== null) return this.next;
    if (this.orders.size === 0 && this.executions.length === 0 && this.prices.size === 0) return this.inflight;
    const next = this.inflight
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.save(this.cut());
      });
    this.next = next;
    this.inflight = next;
    return next;
  }

  /** The last save's error, if the last save failed (cleared by a successful one). */
  get lastFailure(): unknown {
    return this.failure;
  }

  private cut(): SimBookChanges {
    this.cutMark = this.marks;
    const batch: SimBookChanges = {
      orders: [...this.orders.values()].map((o) => ({ ...o })),
      executions: this.executions,
      prices: [...this.prices.values()],
    };
    this.orders = new Map();
    this.executions = [];
    this.prices = new Map();
    return batch;
  }

  private async save(batch: SimBookChanges): Promise<void> {
    const through = this.cutMark;
    try {
      await this.store.save(batch);
      this.savedMark = Math.max(this.savedMark, through);
      this.failure = null;
    } catch (err) {
      this.putBack(batch);
      this.failure = err;
      this.onError(err);
      throw err;
    }
  }

  private putBack(batch: SimBookChanges): void {
    for (const o of batch.orders) if (!this.orders.has(o.id)) this.orders.set(o.id, o);
    this.executions = [...batch.executions, ...this.executions];
    for (const p of batch.prices) if (!this.prices.has(p.symbol)) this.prices.set(p.symbol, p);
  }
}
