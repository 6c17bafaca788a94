/**
 * Position arithmetic (docs/order-lifecycle.md#positions): what a fill does to a symbol's position.
 * Pure functions over decimal strings.
 *
 * Invariants:
 * 1. qty is signed (negative = short) and moves by exactly the fill: +qty for
 *    a buy, −qty for a sell.
 * 2. Increasing a position (from flat or on the same side) moves the entry
 *    price to the weighted average; reducing it realizes P&L on the reduced
 *    quantity at the unchanged entry price: long (price − avg) × qty, short
 *    (avg − price) × qty. A fill that crosses zero closes the old side
 *    (realizing its P&L) and opens the remainder on the other side at the
 *    fill price.
 * 3. Flat means avgEntryPrice '0'; the entry price is never negative.
 * 4. Money is exact: for every fill
 *      realizedDelta = newQty × newAvg − oldQty × oldAvg − signedQty × price
 *    so realizedPl − qty × avgEntryPrice always moves with the cash flow
 *    exactly, a position that goes back to flat has realized exactly its cash
 *    P&L (Σ sells − Σ buys), and realized + unrealized = cash + qty × mark at
 *    every mark. A weighted average that does not terminate is rounded
 *    half-even to 8 decimal places; the sub-1e-8-per-share remainder of that
 *    rounding is booked to realized P&L on the increase itself instead of
 *    drifting into the P&L of the eventual close (it is zero whenever the
 *    average is exact, the usual case).
 * 5. Results are plain decimal strings (no exponent, no trailing zeros, no `-0`).
 */
import { Decimal } from '../../common/decimal';
import { exact, plain, quotient } from '../../common/decimal';

export interface PositionState {
  /** Signed; negative = short. */
  qty: string;
  /** '0' when flat. */
  avgEntryPrice: string;
  realizedPl: string;
}

export interface FillForPosition {
  side: 'buy' | 'sell';
  qty: string;
  price: string;
}

export interface PositionChange extends PositionState {
  /** The P&L this fill realized (already added to realizedPl). */
  realizedDelta: string;
}

export const FLAT: PositionState = Object.freeze({ qty: '0', avgEntryPrice: '0', realizedPl: '0' });

/** Applies one fill: weighted average entry on increases, realized P&L on reductions, flips through zero. */
export function applyFillToPosition(p: PositionState, f: FillForPosition): PositionChange {
  const fillQty = exact(f.qty);
  const price = exact(f.price);
  if (!fillQty.gt(0)) throw new RangeError(`fill qty must be positive, got ${f.qty}`);
  if (!price.gt(0)) throw new RangeError(`fill price must be positive, got ${f.price}`);
  const c = applyFillExact(exact(p.qty), exact(p.avgEntryPrice), f.side, fillQty, price);
  return {
    qty: plain(c.qty),
    avgEntryPrice: plain(c.avgEntryPrice),
    realizedPl: plain(exact(p.realizedPl).plus(c.realizedDelta)),
    realizedDelta: plain(c.realizedDelta),
  };
}

export interface ExactPositionChange {
  qty: Decimal;
  avgEntryPrice: Decimal;
  realizedDelta: Decimal;
}

/**
 * applyFillToPosition on exact Decimals (the same math; the string form is
 * this one's output as plain text). For loops over many fills, which then
 * convert to text once at the end. fillQty and price must be positive.
 */
export function applyFillExact(
  oldQty: Decimal,
  avgEntryPrice: Decimal,
  side: 'buy' | 'sell',
  fillQty: Decimal,
  price: Decimal,
): ExactPositionChange {
  if (!fillQty.gt(0) || !price.gt(0)) throw new RangeError('fill qty and price must be positive');
  const oldAvg = oldQty.isZero() ? ZERO : avgEntryPrice;
  const signed = side === 'buy' ? fillQty : fillQty.neg();
  const newQty = oldQty.plus(signed);

  if (oldQty.isZero() || oldQty.isNeg() === signed.isNeg()) {
    // Opening or increasing: weighted average entry. Nothing is realized but the
    // average's rounding remainder (zero when the average is exact).
    const newAvg = quotient(oldQty.abs().times(oldAvg).plus(fillQty.times(price)), newQty.abs());
    const remainder = newQty.times(newAvg).minus(oldQty.times(oldAvg)).minus(signed.times(price));
    return { qty: newQty, avgEntryPrice: newAvg, realizedDelta: remainder };
  }
  // Reducing, closing or crossing zero: realize P&L on the closed quantity.
  const closed = fillQty.lt(oldQty.abs()) ? fillQty : oldQty.abs();
  const realized = oldQty.isPos() ? price.minus(oldAvg).times(closed) : oldAvg.minus(price).times(closed);
  let newAvg: Decimal;
  if (newQty.isZero()) newAvg = ZERO;
  else if (newQty.isNeg() === oldQty.isNeg())
    newAvg = oldAvg; // what remains keeps its entry price
  else newAvg = price; // the remainder opens on the other side at the fill price
  return { qty: newQty, avgEntryPrice: newAvg, realizedDelta: realized };
}

const ZERO = exact('0');

/** Unrealized P&L at `markPrice`: qty × (mark − avg), so a short gains when the price falls. */
export function unrealizedPl(p: PositionState, markPrice: string): string {
  const qty = exact(p.qty);
  if (qty.isZero()) return '0';
  return plain(qty.times(exact(markPrice).minus(p.avgEntryPrice)));
}
