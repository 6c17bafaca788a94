/**
 * Reads of the sim's book that may reach past its memory
 * (docs/simulator.md#memory-and-retention): the exchange keeps live orders,
 * the most recently ended ones and the most recent executions; with a durable
 * book (sim-book.ts) an ended order or an execution that left memory is read
 * back from the store, otherwise it is answered as unknown.
 *
 * Invariants:
 * - memory first: the store is read only once something left memory, and
 *   only after the journal saved what was marked so far (a dropped order's
 *   last change is then in the store);
 * - an order that left memory has ended (live and held orders never leave),
 *   so a store answer never misses a later change of it.
 */
import type { BrokerFill, BrokerOrder, ListFillsQuery, ListOrdersQuery } from '../broker-client.port';
import type { SimBookArchive } from './sim-book';
import { invalidRequest, lostResponse } from './sim-errors';
import type { SimExchange } from './sim-exchange';
import { toBrokerOrder, type SimOrder } from './sim-order';
import { fillsPage, fillsPageSize, listFills, listOrders, ordersQuery } from './sim-reports';

export type SimOrderKey = { id: string } | { clientOrderId: string };

export interface SimMemoryUse {
  orders: number;
  clientOrderIds: number;
  executions: number;
  evictedOrders: number;
  evictedExecutions: number;
}

export class SimBookLookup {
  private archive: SimBookArchive | null = null;
  private saved: () => Promise<void> = () => Promise.resolve();

  constructor(private readonly ex: SimExchange) {}

  /** From now on, what left memory is read from `archive`, once `saved()` resolved. */
  attach(archive: SimBookArchive, saved: () => Promise<void>): void {
    this.archive = archive;
    this.saved = saved;
  }

  /** The order (a top-level one with its legs after it), from memory or the durable book; [] when unknown. */
  async find(key: SimOrderKey): Promise<SimOrder[]> {
    const order = 'id' in key ? this.ex.orders.get(key.id) : this.ex.byClientOrderId.get(key.clientOrderId);
    if (order !== undefined) return [order, ...this.ex.legsOf(order)];
    const archive = this.reachable(this.ex.evictedOrders);
    if (archive === null) return [];
    await this.settled();
    return archive.findOrder(key);
  }

  async report(key: SimOrderKey): Promise<BrokerOrder | null> {
    const [order, ...legs] = await this.find(key);
    return order === undefined ? null : toBrokerOrder(order, legs);
  }

  /**
   * Taken by an order in memory or, with a durable book, by one that left it
   * (one indexed query; memory is checked again after it, for an order
   * accepted meanwhile). Synchronous while nothing left memory, and for an id
   * the filter of ids that left memory has never seen (nearly every new one).
   */
  clientOrderIdTaken(clientOrderId: string): boolean | Promise<boolean> {
    if (this.ex.byClientOrderId.has(clientOrderId)) return true;
    if (this.reachable(this.ex.evictedOrders) === null) return false;
    if (!this.ex.evictedIds.mightContain(clientOrderId)) return false; // never left memory: free
    return this.find({ clientOrderId }).then((found) => found.length > 0 || this.ex.byClientOrderId.has(clientOrderId));
  }

  /**
   * Open orders are all in memory. Closed ones: with a durable book that
   * dropped some, the whole listing comes from the store (so the gateway's
   * reconciliation sees every recent order); without one, the retained ones.
   */
  async listOrders(q: ListOrdersQuery): Promise<BrokerOrder[]> {
    const query = ordersQuery(q);
    const archive = this.reachable(this.ex.evictedOrders);
    if (archive === null || query.status === 'open') return listOrders(this.ex, q);
    await this.settled();
    const rows = await archive.listOrders(query);
    const roots = rows.filter((o) => o.parentId === null);
    return roots.map((o) =>
      toBrokerOrder(
        o,
        rows.filter((l) => l.parentId === o.id),
      ),
    );
  }

  /**
   * Executions oldest first. From memory when it holds every execution the
   * query can match (a page token in memory, or an `after` no dropped
   * execution is later than); else from the durable book, if any; else the
   * retained ones (an unknown page token is refused).
   */
  async listFills(q: ListFillsQuery): Promise<{ fills: BrokerFill[]; nextPageToken: string | null }> {
    const size = fillsPageSize(q);
    const archive = this.reachable(this.ex.evictedExecutions);
    if (archive === null) return listFills(this.ex, q);
    let afterSeq = -1;
    if (q.pageToken !== undefined) {
      if (this.ex.executions.some((e) => e.executionId === q.pageToken)) return listFills(this.ex, q);
      await this.settled();
      const seq = await archive.fillSeq(q.pageToken);
      if (seq === null) throw invalidRequest(`invalid page_token: ${q.pageToken}`);
      afterSeq = seq;
    } else {
      const through = this.ex.evictedThrough;
      if (through === null || (q.after !== undefined && through.getTime() <= q.after.getTime())) {
        return listFills(this.ex, q);
      }
      await this.settled();
    }
    const rows = await archive.listFills({ afterSeq, after: q.after, until: q.until, limit: size + 1 });
    return fillsPage(rows, size);
  }

  memoryUse(): SimMemoryUse {
    const ex = this.ex;
    return {
      orders: ex.orders.size,
      clientOrderIds: ex.byClientOrderId.size,
      executions: ex.executions.length,
      evictedOrders: ex.evictedOrders,
      evictedExecutions: ex.evictedExecutions,
    };
  }

  private reachable(evicted: number): SimBookArchive | null {
    return evicted > 0 ? this.archive : null;
  }

  private async settled(): Promise<void> {
    await this.saved().catch(() => {
      throw lostResponse('the sim exchange could not read its stored book; try again');
    });
  }
}
