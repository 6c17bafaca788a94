/**
 * The quantity decisions of the position controls (docs/operator-controls.md):
 * what order a close or an adjust of one symbol sends, from the position and
 * the open orders working on it. Pure functions; the use cases read the
 * inputs under the symbol's reduce-only lock and send what is decided here.
 *
 * Invariants:
 * - a close sells a long and buys a short, and never more than the position
 *   minus what open orders on that side already close: the position plus
 *   every open order on the closing side plus the close never goes past flat;
 * - a close with no quantity takes all that is left; nothing left is
 *   CLOSE_PENDING (409), a flat position is POSITION_FLAT, more than the
 *   position is CLOSE_EXCEEDS_POSITION (422);
 * - an adjust sends one order for the difference to the target; a target on
 *   the other side of zero is ADJUST_CROSSES_ZERO, the same target is
 *   NO_CHANGE (422); toward zero it is reduce-only under the close's rules,
 *   away from zero it adds exposure (every pre-trade check applies).
 */
import Decimal from 'decimal.js';
import { OrderSide } from '../../trading/order-status';

/** The position in one symbol and the unfilled quantity of its open orders (all strategies). */
export interface PositionExposure {
  /** Signed: long > 0, short < 0. Whole shares. */
  positionQty: string;
  openBuyQty: string;
  openSellQty: string;
}

export type PositionActionRefusal =
  | { code: 'POSITION_FLAT'; status: 422; message: string; details: Record<string, string> }
  | { code: 'CLOSE_EXCEEDS_POSITION'; status: 422; message: string; details: Record<string, string> }
  | { code: 'CLOSE_PENDING'; status: 409; message: string; details: Record<string, string> }
  | { code: 'ADJUST_CROSSES_ZERO'; status: 422; message: string; details: Record<string, string> }
  | { code: 'NO_CHANGE'; status: 422; message: string; details: Record<string, string> };

export interface PlannedOrder {
  side: OrderSide;
  /** Whole shares, > 0, as a normalized integer string. */
  qty: string;
  /** Only reduces the position, never past flat, counting the open orders on its side. */
  reduceOnly: boolean;
}

export type PositionActionDecision = { order: PlannedOrder } | { refusal: PositionActionRefusal };

/** The side that closes `position`, how much of it is open and how much open orders on that side already close. */
function closing(e: PositionExposure): { side: OrderSide; size: Decimal; working: Decimal } {
  const position = new Decimal(e.positionQty);
  const side: OrderSide = position.gt(0) ? 'sell' : 'buy';
  const size = position.abs();
  const onSide = new Decimal(side === 'sell' ? e.openSellQty : e.openBuyQty);
  return { side, size, working: Decimal.min(onSide, size) };
}

/** A close of the position: all that is left to close, or `qty` of it. */
export function decideClose(e: PositionExposure, qty?: string): PositionActionDecision {
  const position = new Decimal(e.positionQty);
  if (position.isZero()) {
    return refuse('POSITION_FLAT', 422, 'The position is flat: there is nothing to close', { position_qty: '0' });
  }
  const { side, size, working } = closing(e);
  const left = size.minus(working);
  const figures = {
    position_qty: position.toFixed(),
    pending_close_qty: working.toFixed(),
    closable_qty: left.toFixed(),
  };
  if (qty !== undefined && new Decimal(qty).gt(size)) {
    return refuse('CLOSE_EXCEEDS_POSITION', 422, `qty ${qty} exceeds the position (${size.toFixed()} shares)`, {
      ...figures,
      qty,
    });
  }
  const want = qty === undefined ? left : new Decimal(qty);
  if (left.isZero() || want.gt(left)) {
    return refuse(
      'CLOSE_PENDING',
      409,
      `Open orders already close ${working.toFixed()} of the ${size.toFixed()} shares; ${left.toFixed()} can still be closed`,
      qty === undefined ? figures : { ...figures, qty },
    );
  }
  return { order: { side, qty: want.toFixed(), reduceOnly: true } };
}

/** An adjust of the position to `targetQty` (signed, whole shares). */
export function decideAdjust(e: PositionExposure, targetQty: string): PositionActionDecision {
  const position = new Decimal(e.positionQty);
  const target = new Decimal(targetQty);
  const figures = { position_qty: position.toFixed(), target_qty: target.toFixed() };
  if (target.eq(position)) return refuse('NO_CHANGE', 422, `The position is already ${position.toFixed()}`, figures);
  if (!position.isZero() && !target.isZero() && position.isPositive() !== target.isPositive()) {
    return refuse(
      'ADJUST_CROSSES_ZERO',
      422,
      `target_qty ${target.toFixed()} is on the other side of zero from the position (${position.toFixed()}): close it first`,
      figures,
    );
  }
  const delta = target.minus(position);
  const side: OrderSide = delta.gt(0) ? 'buy' : 'sell';
  if (target.abs().gte(position.abs())) {
    // Away from zero (or from flat): exposure is added, the order is an ordinary one.
    return { order: { side, qty: delta.abs().toFixed(), reduceOnly: false } };
  }
  const decided = decideClose(e, delta.abs().toFixed());
  return 'refusal' in decided
    ? { refusal: { ...decided.refusal, details: { ...decided.refusal.details, ...figures } } }
    : decided;
}

function refuse<C extends PositionActionRefusal['code']>(
  code: C,
  status: Extract<PositionActionRefusal, { code: C }>['status'],
  message: string,
  details: Record<string, string>,
): PositionActionDecision {
  return { refusal: { code, status, message, details } as PositionActionRefusal };
}
