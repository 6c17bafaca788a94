/**
 * Fill progress (docs/order-lifecycle.md#fills-exactly-once, docs/api.md#webhooks): the broker's cumulative filled
 * quantity is the truth, and the fills the gateway records are derived from
 * it. Pure functions over decimal strings.
 *
 * Invariants:
 * 1. An increment exists only when the reported cumulative quantity exceeds the
 *    known one; replays, duplicates and out-of-order reports (10 then 7) give
 *    nothing. So whichever channel reports first, each share is recorded once,
 *    and the recorded quantities always sum to the highest cumulative reported.
 * 2. A reported cumulative above the order's quantity is refused (a typed
 *    error), never clipped: it means the books disagree and need reconciling.
 * 3. The order's new average price is the broker's. The increment's price is
 *    this execution's own price when the broker gives it and the increment is
 *    that one execution; otherwise it is derived from the averages:
 *      (newAvg × newCum − oldAvg × oldCum) / (newCum − oldCum)
 *    which, when reports were missed, is the volume-weighted price of all the
 *    executions in between.
 * 4. Arithmetic is exact. A quotient is exact when it terminates and is rounded
 *    half-even to PRICE_DP (8) decimal places only when it does not (e.g. a
 *    division by 3). Results are plain decimal strings (no exponent, no
 *    trailing zeros).
 * 5. Fills are applied whatever the order's status (a fill after `canceled`
 *    still counts): the state machine decides the status, this decides fills.
 */
import { DomainError } from '../common/domain-error';
import { Decimal, exact, plain, quotient } from '../common/decimal';

export interface FillState {
  /** The order's quantity. */
  qty: string;
  /** Cumulative filled quantity known so far. */
  filledQty: string;
  /** Average price of what is known filled; null before the first fill. */
  filledAvgPrice: string | null;
}

export interface FillIncrement {
  /** The quantity to record as a new fill (> 0). */
  qty: string;
  /** Its price (> 0). */
  price: string;
  /** The order's cumulative filled quantity after it. */
  newFilledQty: string;
  /** The order's average fill price after it. */
  newAvgPrice: string;
}

export type FillProgressErrorCode =
  /** The reported cumulative quantity exceeds the order's quantity. */
  | 'FILL_EXCEEDS_ORDER_QTY'
  /** An increase with neither an average price nor an execution price. */
  | 'FILL_PRICE_UNKNOWN'
  /** The derived increment price is zero or negative (the broker's averages are inconsistent or too coarse). */
  | 'FILL_PRICE_INVALID'
  /** The known state has fills but no average price, and one is needed. */
  | 'FILL_STATE_INCONSISTENT';

/** A broker report that fill progress cannot apply; the order needs reconciling (e.g. from fill activities). */
export class FillProgressError extends DomainError {
  declare readonly code: FillProgressErrorCode;

  constructor(code: FillProgressErrorCode, message: string, details: Record<string, unknown>) {
    super('conflict', code, message, details);
  }
}

const present = (s: string | null | undefined): s is string => s !== null && s !== undefined && s !== '';

/**
 * Given the order's known fill state and a broker-reported cumulative
 * quantity and average price, returns the increment to record, or null when
 * nothing is new (reported <= known).
 *
 * `execPrice` is this execution's own price (a trade update's `price`); it
 * prices the increment unless `execQty` (that execution's quantity) shows the
 * increment also covers executions that were missed, in which case the price
 * is derived from the averages. Throws FillProgressError when the report
 * cannot be applied (see FillProgressErrorCode).
 */
export function fillIncrement(
  state: FillState,
  reportedCumQty: string,
  reportedAvgPrice: string | null,
  execPrice?: string | null,
  execQty?: string | null,
): FillIncrement | null {
  const oldCum = exact(state.filledQty);
  const newCum = exact(reportedCumQty);
  if (newCum.lte(oldCum)) return null;

  const details = { qty: state.qty, filledQty: state.filledQty, reportedCumQty, reportedAvgPrice, execPrice };
  if (newCum.gt(exact(state.qty))) {
    throw new FillProgressError(
      'FILL_EXCEEDS_ORDER_QTY',
      `Reported cumulative fill ${plain(newCum)} exceeds the order quantity ${state.qty}`,
      details,
    );
  }

  const incQty = newCum.minus(oldCum);
  const oldNotional = (): Decimal => {
    if (oldCum.isZero()) return exact('0');
    if (!present(state.filledAvgPrice)) {
      throw new FillProgressError(
        'FILL_STATE_INCONSISTENT',
        `Known fill of ${state.filledQty} has no average price`,
        details,
      );
    }
    return exact(state.filledAvgPrice).times(oldCum);
  };

  const execCoversIncrement = present(execPrice) && (!present(execQty) || incQty.lte(exact(execQty)));
  let price: Decimal;
  if (execCoversIncrement) {
    price = exact(execPrice);
  } else if (present(reportedAvgPrice)) {
    price = quotient(exact(reportedAvgPrice).times(newCum).minus(oldNotional()), incQty);
  } else {
    throw new FillProgressError(
      'FILL_PRICE_UNKNOWN',
      present(execPrice)
        ? `Fill of ${plain(incQty)} spans missed executions and no average price was reported`
        : `Fill of ${plain(incQty)} reported without an average or execution price`,
      details,
    );
  }
  if (price.lte(0)) {
    throw new FillProgressError(
      'FILL_PRICE_INVALID',
      `Fill of ${plain(incQty)} would be priced at ${plain(price)}`,
      details,
    );
  }

  const newAvg = present(reportedAvgPrice)
    ? exact(reportedAvgPrice)
    : quotient(oldNotional().plus(price.times(incQty)), newCum);

  return { qty: plain(incQty), price: plain(price), newFilledQty: plain(newCum), newAvgPrice: plain(newAvg) };
}
