/**
 * The order-entry door's guarded inserts (its fast path), one symbol at a time:
 * those that waited behind a running insert of their symbol go together in the
 * next statement (OrderRepository.insertGuardedMany), each under its own guard.
 * A busy symbol's counter row is then held, and a commit made, once per batch
 * rather than once per order (docs/risk-and-safety.md#how-limits-stay-atomic).
 *
 * Invariants:
 * - each order is answered with what its own insert would have answered:
 *   written (`created`), its id already taken (not created), or the error of
 *   its own insert (past its guard `isGuardError`, over its strategy's limit
 *   `strategyLimitError`, or the database's);
 * - a batch is one statement, all or nothing: when it fails (one order past
 *   its guard, a strategy over its limit at commit, anything else) nothing of
 *   it was written, and each of its orders is inserted again on its own, in
 *   the order they came, so each is judged after the ones before it exactly
 *   as if they had never been batched;
 * - one id appears once in a statement: a second order with an id already in
 *   the batch is inserted on its own after it (a replay or a conflict of the
 *   first, answered as such).
 */
import { Injectable } from '@nestjs/common';
import { AuditEntry } from '../../audit/audit-entry';
import { NewOrder, Order } from '../../trading/order';
import { InsertGuard } from '../persistence/order-insert';
import { OrderRepository } from '../persistence/order.repository';
import { KeyedBatchQueue } from './keyed-batch-queue';

/** Symbols inserted at once (each statement holds a pooled connection while it runs). */
const CONCURRENCY = 8;
/** At most this many orders in one statement. */
const MAX_BATCH = 100;
/** Orders queued before a caller waits for room. */
const MAX_PENDING = 10_000;

export type GuardedInsert = { order: Order | null; created: boolean };

interface Queued {
  order: NewOrder;
  audit: AuditEntry;
  guard: InsertGuard;
  resolve: (r: GuardedInsert) => void;
  reject: (err: unknown) => void;
}

@Injectable()
export class GuardedInsertQueue {
  private readonly queue = new KeyedBatchQueue<Queued>((_symbol, items) => this.run(items), {
    maxKeysRunning: CONCURRENCY,
    maxBatch: MAX_BATCH,
    maxPending: MAX_PENDING,
  });

  constructor(private readonly orders: OrderRepository) {}

  /** Inserts `order` with its audit row under `guard`, with the others of its symbol waiting meanwhile. */
  insert(order: NewOrder, audit: AuditEntry, guard: InsertGuard): Promise<GuardedInsert> {
    return new Promise<GuardedInsert>((resolve, reject) => {
      this.queue.push(order.symbol, { order, audit, guard, resolve, reject }).catch(reject);
    });
  }

  private async run(items: Queued[]): Promise<void> {
    const ids = new Set<string>();
    const batch: Queued[] = [];
    const after: Queued[] = [];
    for (const item of items) {
      const alike = batch.length === 0 || item.guard.maxOpenOrders === batch[0].guard.maxOpenOrders;
      if (!ids.has(item.order.clientOrderId) && alike) batch.push(item);
      else after.push(item);
      ids.add(item.order.clientOrderId);
    }
    if (batch.length === 1) await this.alone(batch[0]);
    else {
      let written: Map<string, Order> | null = null;
      try {
        written = await this.orders.insertGuardedMany(
          batch.map((i) => ({ order: i.order, audit: i.audit, guard: i.guard.guard })),
          batch[0].guard.maxOpenOrders,
        );
      } catch {
        // Nothing of the batch was written: each order on its own, in turn, answered by its own outcome.
        for (const item of batch) await this.alone(item);
      }
      if (written) {
        for (const item of batch) {
          const order = written.get(item.order.clientOrderId);
          item.resolve(order ? { order, created: true } : { order: null, created: false });
        }
      }
    }
    for (const item of after) await this.alone(item);
  }

  private alone(item: Queued): Promise<void> {
    return this.orders.insertWithAudit(item.order, item.audit, undefined, item.guard).then(item.resolve, item.reject);
  }
}
