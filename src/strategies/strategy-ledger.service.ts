import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Coalescer } from '../common/coalesce';
import { Clock } from '../infra/clock/clock';
import { BookLedger } from './domain/book-ledger';
import { StrategyActivityRepository } from './persistence/strategy-activity.repository';

/**
 * The strategies' books, replayed once and then extended with new fills
 * (docs/strategies-and-pnl.md#per-strategy-books), so a P&L view reads only
 * the fills recorded since the last one instead of every fill.
 *
 * Each read first checks that no fill was recorded at or before the last one
 * applied (fills are never deleted, and their book fields never change, so
 * an unchanged count means an unchanged prefix); when one was (a fill
 * recorded late, out of execution order), the books are replayed from
 * scratch. Concurrent reads share one refresh, never one that started
 * before they asked.
 *
 * At start the books are restored from the last checkpoint (saved by any
 * replica at most every CHECKPOINT_INTERVAL_MS when fills were applied),
 * after the same check (the fills at or before its last fill are exactly the
 * ones it counted), then extended with the fills since; without a valid
 * checkpoint they are replayed. This runs in the background as the
 * application starts, so the first read does not wait for a replay.
 */
/** Least time between two checkpoints saved by one replica. */
export const CHECKPOINT_INTERVAL_MS = 30_000;

@Injectable()
export class StrategyLedger implements OnApplicationBootstrap {
  private readonly logger = new Logger('StrategyLedger');
  private ledger = new BookLedger();
  /** Bumped whenever the books are replayed from scratch (a new ledger). */
  private epoch = 0;
  private readonly refresher = new Coalescer(() => this.refresh());
  private restored = false;
  private savedCount = -1;
  private savedAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly activity: StrategyActivityRepository,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    // In the background: a failure here is retried by the first read.
    this.current().catch((err: unknown) =>
      this.logger.warn(`the strategies' books could not be loaded at start: ${(err as Error)?.message ?? err}`),
    );
  }

  /**
   * The ledger with every fill recorded before the call (executed up to now).
   * Read it synchronously after the await: the next refresh extends it in place.
   */
  current(): Promise<BookLedger> {
    return this.refresher.run();
  }

  /**
   * Identifies what the ledger holds: equal versions, equal books and day
   * figures (fills are never deleted nor changed). Read it synchronously
   * after current().
   */
  get version(): string {
    return `${this.epoch}:${this.ledger.count}:${this.ledger.watermark?.id ?? ''}`;
  }

  private async refresh(): Promise<BookLedger> {
    const before = new Date(this.clock.now().getTime() + 1);
    if (!this.restored) {
      this.ledger = await this.restore();
      this.epoch += 1;
      this.restored = true;
    }
    let ledger = this.ledger;
    const w = ledger.watermark;
    if (w && (await this.activity.countFillsThrough(w)) !== ledger.count) {
      this.logger.log('a fill was recorded out of execution order: replaying the strategies’ books');
      ledger = new BookLedger();
    }
    ledger.apply(await this.activity.fillsAfter(ledger.watermark, before));
    if (ledger !== this.ledger) this.epoch += 1;
    this.ledger = ledger;
    this.maybeSave(ledger);
    return ledger;
  }

  /** The checkpoint's ledger when it still matches the fills, else an empty one (replayed by the caller). */
  private async restore(): Promise<BookLedger> {
    try {
      const c = await this.activity.loadCheckpoint();
      if (!c) return new BookLedger();
      const ledger = BookLedger.fromCheckpoint(c);
      const w = ledger.watermark;
      if (w && (await this.activity.countFillsThrough(w)) === ledger.count) {
        this.savedCount = ledger.count;
        return ledger;
      }
      this.logger.log('the books’ checkpoint no longer matches the fills: replaying them');
    } catch (err) {
      this.logger.warn(`the books’ checkpoint could not be read: ${(err as Error)?.message ?? err}; replaying`);
    }
    return new BookLedger();
  }

  /** Saves a checkpoint (in the background) when fills were applied and the last one is old enough. */
  private maybeSave(ledger: BookLedger): void {
    const nowMs = this.clock.now().getTime();
    if (ledger.count === this.savedCount || nowMs - this.savedAtMs < CHECKPOINT_INTERVAL_MS) return;
    const c = ledger.toCheckpoint();
    if (!c) return;
    this.savedCount = c.count;
    this.savedAtMs = nowMs;
    this.activity
      .saveCheckpoint(c)
      .catch((err: unknown) =>
        this.logger.warn(`the books’ checkpoint could not be saved: ${(err as Error)?.message ?? err}`),
      );
  }
}
