/**
 * The sim account's books: cash and one signed position per symbol.
 *
 * Invariants:
 * - a position's qty is the signed sum of its executions (buys +, sells −);
 * - cash = starting cash − Σ buys' qty × price + Σ sells' qty × price, exactly;
 * - the average entry price is the quantity-weighted average of the executions
 *   that opened the current position; a reduction leaves it unchanged and
 *   realizes (price − avg) × closed qty × direction; a flip through zero opens
 *   the new side at the flipping execution's price.
 */
import { Decimal } from '../../common/decimal';
import type { OrderSide } from '../../trading/order-status';

export interface SimPositionState {
  /** Signed: negative for a short. */
  qty: Decimal;
  /** Zero when flat. */
  avgEntryPrice: Decimal;
  /** Accumulated over the symbol's life, across flats and flips. */
  realizedPl: Decimal;
}

const ZERO = new Decimal(0);

export class SimLedger {
  private cashBalance: Decimal;
  private readonly positions = new Map<string, SimPositionState>();

  constructor(startingCash: Decimal) {
    this.cashBalance = startingCash;
  }

  get cash(): Decimal {
    return this.cashBalance;
  }

  positionQty(symbol: string): Decimal {
    return this.positions.get(symbol)?.qty ?? ZERO;
  }

  /** The symbol's state, flat ones included (their realized P&L stays). */
  position(symbol: string): Readonly<SimPositionState> | undefined {
    return this.positions.get(symbol);
  }

  /** Non-flat positions, by symbol. */
  openPositions(): Array<[string, Readonly<SimPositionState>]> {
    return [...this.positions.entries()]
      .filter(([, p]) => !p.qty.isZero())
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Long (≥ 0) and short (≤ 0) market value at the given prices, Alpaca's signs. */
  marketValues(priceOf: (symbol: string) => Decimal): { long: Decimal; short: Decimal } {
    let long = ZERO;
    let short = ZERO;
    for (const [symbol, p] of this.openPositions()) {
      const value = p.qty.mul(priceOf(symbol));
      if (value.gte(0)) long = long.plus(value);
      else short = short.plus(value);
    }
    return { long, short };
  }

  /** Books one execution; returns the position qty after it. */
  applyFill(symbol: string, side: OrderSide, qty: Decimal, price: Decimal): Decimal {
    const notional = qty.mul(price);
    this.cashBalance = side === 'buy' ? this.cashBalance.minus(notional) : this.cashBalance.plus(notional);

    const current = this.positions.get(symbol) ?? { qty: ZERO, avgEntryPrice: ZERO, realizedPl: ZERO };
    const signed = side === 'buy' ? qty : qty.neg();
    const next = current.qty.plus(signed);
    let avgEntryPrice = current.avgEntryPrice;
    let realizedPl = current.realizedPl;

    const adding = current.qty.isZero() || current.qty.gt(0) === signed.gt(0);
    if (adding) {
      avgEntryPrice = current.qty.abs().mul(current.avgEntryPrice).plus(notional).div(next.abs());
    } else {
      const closed = Decimal.min(qty, current.qty.abs());
      const direction = current.qty.gt(0) ? 1 : -1;
      realizedPl = realizedPl.plus(price.minus(current.avgEntryPrice).mul(closed).mul(direction));
      if (next.isZero()) avgEntryPrice = ZERO;
      else if (next.gt(0) !== current.qty.gt(0)) avgEntryPrice = price;
    }

    this.positions.set(symbol, { qty: next, avgEntryPrice, realizedPl });
    return next;
  }
}
