/**
 * Broker news applied in batches, one symbol at a time: the update stream's
 * reports and the submit path's acknowledgements of this replica share one
 * queue per symbol (KeyedBatchQueue), and those that waited behind a running
 * batch go together in the next unit of work
 * (ApplyOrderUpdateUseCase.applyMany: the orders locked and read in one
 * statement, each report decided in the order it came, one statement per kind
 * of write at the end, one commit). A busy symbol costs one unit of work per
 * batch rather than one per report, so neither its fills nor its orders'
 * acknowledgements trail behind the broker (docs/order-lifecycle.md#update-channels).
 *
 * Invariants:
 * - one symbol's reports are applied in the order they were queued, and a
 *   report is applied exactly as `apply` would leave it after the ones before
 *   it (applyMany);
 * - `apply` resolves once its report's unit of work committed, with the
 *   report's result and the order as that unit of work left it (what a read
 *   right after the commit would see), so its caller needs no second read;
 * - a batch that fails is applied again report by report (applyMany); a
 *   report whose own unit of work then fails rejects its `apply`, and a
 *   stream report's failure is logged (the stream's reconnect and the poll
 *   bring the news again).
 */
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { ApplyOrderUpdateUseCase, ApplyResult, OrderUpdateReport } from '../use-cases/apply-order-update.use-case';
import { KeyedBatchQueue } from './keyed-batch-queue';

/** Symbols whose updates are applied at once (each batch holds a pooled connection while it runs). */
const CONCURRENCY = 8;
/** At most this many reports of one symbol in one unit of work. */
const MAX_BATCH = 200;
/** Reports queued before a caller waits for room. */
const MAX_PENDING = 5_000;

interface Queued {
  report: OrderUpdateReport;
  /** Set when a caller waits for the report's result (`apply`). */
  settle?: { resolve: (r: ApplyResult) => void; reject: (err: unknown) => void };
}

@Injectable()
export class OrderUpdateQueue implements BeforeApplicationShutdown {
  private readonly logger = new Logger('OrderUpdateQueue');
  private readonly queue = new KeyedBatchQueue<Queued>((symbol, items) => this.run(symbol, items), {
    maxKeysRunning: CONCURRENCY,
    maxBatch: MAX_BATCH,
    maxPending: MAX_PENDING,
  });

  constructor(private readonly updates: ApplyOrderUpdateUseCase) {}

  /** Queues a report whose outcome nobody waits for (the stream); resolves once it is queued. */
  push(report: OrderUpdateReport): Promise<void> {
    return this.queue.push(report.order.symbol, { report });
  }

  /** Applies a report with the others queued for its symbol; resolves with its result once committed. */
  apply(report: OrderUpdateReport): Promise<ApplyResult> {
    return new Promise<ApplyResult>((resolve, reject) => {
      this.queue.push(report.order.symbol, { report, settle: { resolve, reject } }).catch(reject);
    });
  }

  /** Resolves when nothing is queued or being applied. */
  drain(): Promise<void> {
    return this.queue.drain();
  }

  /** Queued reports are applied before the database closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  private async run(symbol: string, items: Queued[]): Promise<void> {
    let results: ApplyResult[];
    try {
      results = await this.updates.applyMany(items.map((i) => i.report));
    } catch (err) {
      // The batch fell back to one unit of work per report and one of them failed: each waiting caller gets
      // its own report's answer (applying a report again changes nothing that was already applied).
      this.logger.error({ err, symbol, count: items.length, msg: 'order updates failed' });
      for (const item of items) {
        if (!item.settle) continue;
        await this.updates.apply(item.report).then(item.settle.resolve, item.settle.reject);
      }
      return;
    }
    items.forEach((item, i) => item.settle?.resolve(results[i]));
  }
}
