/**
 * What the resting exit legs of orders with legs can still trade, for the
 * reduce-only judgement (docs/risk-and-safety.md#reduce-only-orders). Pure.
 *
 * The exposure counters leave legs out (they never add exposure), but a leg
 * resting on the exit side can still fill against the position: a reduce-only
 * order that ignored it could fill too and take the position past flat. So the
 * reduce-only judgement counts, per order with legs, one quantity:
 *
 * - bracket / oto: the legs exit what the entry has filled. Of the pair only
 *   one can fill, so the larger open remainder of its open legs, and never
 *   more than the entry's filled quantity less what the legs already filled
 *   (an entry still unfilled adds to the position before its legs can take
 *   it off, so its legs hold nothing of the position yet);
 * - oco: the order itself is the take-profit (counted by the counters while
 *   open) and its leg the stop-loss: only one of them can fill, so the pair
 *   holds the larger open remainder, at most the order's quantity less what
 *   either filled; the legs add only what is beyond the order's own remainder.
 *
 * Invariant (exit-legs.spec.ts): whatever the legs of one order can still
 * fill without the entry filling more is at most `restingExitQty`, and that
 * much can fill.
 */
import { Decimal } from '../common/decimal';
import { OrderClass } from './order-class';

/** One order with legs, some leg of which is open, as the reduce-only judgement reads it. */
export interface LegGroup {
  orderClass: OrderClass;
  /** The entry (an OCO: the order itself) is open. */
  entryOpen: boolean;
  entryQty: string;
  entryFilledQty: string;
  /** Filled by all its legs, open or ended. */
  legsFilledQty: string;
  /** The largest open remainder (qty − filled) among its open legs on the exit side; 0 when none is open. */
  openLegQty: string;
}

const ZERO = new Decimal(0);

/** What the legs of one order can still take off the position, beyond what the counters already hold. */
export function restingExitQty(g: LegGroup): Decimal {
  const entryFilled = new Decimal(g.entryFilledQty);
  const legsFilled = new Decimal(g.legsFilledQty);
  const openLeg = Decimal.max(new Decimal(g.openLegQty), ZERO);
  if (g.orderClass === 'oco') {
    const entryOpen = g.entryOpen ? Decimal.max(new Decimal(g.entryQty).minus(entryFilled), ZERO) : ZERO;
    const capacity = new Decimal(g.entryQty).minus(entryFilled).minus(legsFilled);
    const pair = Decimal.min(Decimal.max(openLeg, entryOpen), capacity);
    return Decimal.max(pair.minus(entryOpen), ZERO);
  }
  return Decimal.max(Decimal.min(openLeg, entryFilled.minus(legsFilled)), ZERO);
}

/** The total over the orders with legs resting on one side of one symbol, as a decimal string. */
export function restingExitTotal(groups: readonly LegGroup[]): string {
  return groups.reduce((sum, g) => sum.plus(restingExitQty(g)), ZERO).toFixed();
}
