import { Injectable, Logger } from '@nestjs/common';
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
 */
@Injectable()
export class StrategyLedger {
  private readonly logger = new Logger('StrategyLedger');
  private ledger = new BookLedger();
  private readonly refresher = new Coalescer(() => this.refresh());

  constructor(
    private readonly activity: StrategyActivityRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * The ledger with every fill recorded before the call (executed up to now).
   * Read it synchronously after the await: the next refresh extends it in place.
   */
  current(): Promise<BookLedger> {
    return this.refresher.run();
  }

  private async refresh(): Promise<BookLedger> {
    const before = new Date(this.clock.now().getTime() + 1);
    let ledger = this.ledger;
    const w = ledger.watermark;
    if (w && (await this.activity.countFillsThrough(w)) !== ledger.count) {
      this.logger.log('a fill was recorded out of execution order: replaying the strategies’ books');
      ledger = new BookLedger();
    }
    ledger.apply(await this.activity.fillsAfter(ledger.watermark, before));
    this.ledger = ledger;
    return ledger;
  }
}
