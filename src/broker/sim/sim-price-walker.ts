/**
 * Drives the price walk (sim-price-walk.ts) on a timer of the Scheduler port:
 * every `stepMs` each walking symbol takes one step. A symbol walks once it
 * has a price on the exchange (configured, set by an operator, traded, or
 * looked up by market data) or an open order or position.
 *
 * Invariants:
 * - each symbol has its own step counter, so its path depends only on the
 *   seed, the symbol and its starting price (and operator overrides);
 * - an operator's price replaces the current one; the walk continues from it;
 * - a step that moves a price hands the symbol to `onMove` (resting orders match).
 */
import { Decimal } from '../../common/decimal';
import type { Scheduler, TaskHandle } from '../../infra/clock/scheduler';
import type { SimPriceState } from './sim-book';
import { walkStep } from './sim-price-walk';

export interface SimPriceWalkOptions {
  seed: string;
  /** Per-step σ in basis points (decimal string); 0 turns the walk off. */
  volatilityBps: Decimal;
  stepMs: number;
}

export interface WalkedBook {
  /** The symbols that walk and their current prices (the exchange's price map). */
  readonly prices: Map<string, Decimal>;
  /** Symbols with open orders or positions (they walk from the default price if they have none). */
  activeSymbols(): Iterable<string>;
  defaultPrice: Decimal;
}

export class SimPriceWalker {
  private readonly steps = new Map<string, number>();
  private timer: TaskHandle | null = null;

  constructor(
    private readonly opts: SimPriceWalkOptions,
    private readonly book: WalkedBook,
    private readonly onMove: (state: SimPriceState, moved: boolean) => void,
  ) {}

  get enabled(): boolean {
    return !this.opts.volatilityBps.isZero();
  }

  /** Restored step counters (sim-book.ts). */
  restoreSteps(steps: Map<string, number>): void {
    for (const [symbol, n] of steps) this.steps.set(symbol, n);
  }

  stepOf(symbol: string): number {
    return this.steps.get(symbol) ?? 0;
  }

  /** Steps every `stepMs` on `scheduler` (nothing when the volatility is 0); `after` runs after each step. */
  start(scheduler: Scheduler, after: () => unknown = () => undefined): void {
    if (!this.enabled || this.timer !== null) return;
    this.timer = scheduler.every(
      this.opts.stepMs,
      () => {
        this.stepAll();
        return after();
      },
      { name: 'sim-price-walk' },
    );
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** One step for every walking symbol, in symbol order. */
  stepAll(): void {
    const symbols = new Set<string>([...this.book.prices.keys(), ...this.book.activeSymbols()]);
    for (const symbol of [...symbols].sort()) {
      const price = this.book.prices.get(symbol) ?? this.book.defaultPrice;
      const step = this.stepOf(symbol);
      const next = walkStep({ seed: this.opts.seed, symbol, step, price, volatilityBps: this.opts.volatilityBps });
      this.steps.set(symbol, step + 1);
      this.book.prices.set(symbol, next);
      this.onMove({ symbol, price: next, step: step + 1 }, !next.eq(price));
    }
  }
}
