/**
 * Bracket, OTO and OCO orders (docs/order-lifecycle.md#bracket-oto-and-oco-orders):
 * the rules their terms must satisfy and the leg rows an order with legs
 * brings with it. Pure.
 *
 * The model:
 * - `bracket`: an entry (market or limit) with a take-profit limit and a
 *   stop-loss stop (or stop-limit), both on the other side; the legs wait
 *   (`held`) until the entry fills, then work as an OCO pair.
 * - `oto`: an entry with exactly one of the two legs.
 * - `oco`: an exit of an existing position: the order itself is the
 *   take-profit limit (`limit_price` = `take_profit.limit_price`), its one leg
 *   is the stop-loss on the same side; whichever fills first cancels the other.
 *
 * Invariants:
 * - a leg row's id is `<entry>-tp` / `<entry>-sl`, its parent_order_id the
 *   entry's id, its side the exit side, its qty the entry's qty;
 * - take-profit and stop-loss are on opposite sides of the market: an exit
 *   sell takes profit above its stop, an exit buy below it; and an entry's
 *   limit price lies strictly between them;
 * - a simple order has no legs and no leg terms.
 */
import { Decimal } from '../common/decimal';
import { FieldProblem } from '../common/domain-error';
import { OrderSide, OrderType, TimeInForce } from './order-status';

export const ORDER_CLASSES = ['simple', 'bracket', 'oto', 'oco'] as const;
export type OrderClass = (typeof ORDER_CLASSES)[number];

export const LEG_TYPES = ['take_profit', 'stop_loss'] as const;
export type LegType = (typeof LEG_TYPES)[number];

export interface TakeProfit {
  limitPrice: string;
}

export interface StopLoss {
  stopPrice: string;
  /** Present: the stop-loss is a stop-limit. */
  limitPrice: string | null;
}

/** A leg's id suffix: `<entry>-tp`, `<entry>-sl`. */
export const LEG_SUFFIX: Record<LegType, string> = { take_profit: '-tp', stop_loss: '-sl' };

/** The longest client_order_id an order with legs may have: its legs' ids must fit the 48 characters of any id. */
export const MAX_ENTRY_ID_LENGTH = 48 - 3;

export function legClientOrderId(entryId: string, leg: LegType): string {
  return `${entryId}${LEG_SUFFIX[leg]}`;
}

export function oppositeSide(side: OrderSide): OrderSide {
  return side === 'buy' ? 'sell' : 'buy';
}

/** The side the legs of an order trade on: the other side for an entry, the order's own for an OCO exit. */
export function legSide(orderClass: OrderClass, side: OrderSide): OrderSide {
  return orderClass === 'oco' ? side : oppositeSide(side);
}

/** The terms the class rules read. `'?'` stands for a price given but malformed (already named by its own rule). */
export interface OrderClassTerms {
  orderClass: OrderClass;
  side: OrderSide | undefined;
  orderType: OrderType | undefined;
  limitPrice: string | null;
  timeInForce: TimeInForce | undefined;
  extendedHours: boolean;
  /** null when absent; its price null when absent or malformed. */
  takeProfit: { limitPrice: string | null } | null;
  stopLoss: { stopPrice: string | null; limitPrice: string | null } | null;
}

const ENTRY_TYPES: readonly OrderType[] = ['market', 'limit'];
const CLASS_TIF: readonly TimeInForce[] = ['day', 'gtc'];

const valid = (price: string | null | undefined): price is string => typeof price === 'string' && price !== '?';

/**
 * Rules across fields for the order class: which legs each class needs and
 * allows, the entry types and times in force that can carry legs, and where
 * the legs' prices may lie. Each problem names the field(s) it is about.
 */
export function orderClassProblems(t: OrderClassTerms): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (field: string, problem: string) => problems.push({ field, problems: [problem] });
  const cls = t.orderClass;
  if (cls === 'simple') {
    if (t.takeProfit) add('take_profit', 'is only for bracket, oto and oco orders (set order_class)');
    if (t.stopLoss) add('stop_loss', 'is only for bracket, oto and oco orders (set order_class)');
    return problems;
  }
  if (cls === 'bracket' || cls === 'oco') {
    if (!t.takeProfit) add('take_profit', `is required for ${cls} orders`);
    if (!t.stopLoss) add('stop_loss', `is required for ${cls} orders`);
  } else if (!t.takeProfit === !t.stopLoss) {
    const message = t.takeProfit
      ? 'give only one of take_profit and stop_loss for oto orders'
      : 'one of take_profit and stop_loss is required for oto orders';
    add('take_profit', message);
    add('stop_loss', message);
  }
  if (cls === 'oco') {
    if (t.orderType !== undefined && t.orderType !== 'limit') {
      add('order_type', 'must be limit (or absent) for oco orders: the order is the take-profit limit');
    }
    if (t.limitPrice !== null) {
      add('limit_price', "must not be set for oco orders: the take_profit's limit_price is the order's price");
    }
  } else if (t.orderType !== undefined && !ENTRY_TYPES.includes(t.orderType)) {
    add('order_type', `must be market or limit for ${cls} orders`);
  }
  if (t.timeInForce !== undefined && !CLASS_TIF.includes(t.timeInForce)) {
    add('time_in_force', `must be day or gtc for ${cls} orders`);
  }
  if (t.extendedHours) add('extended_hours', `is not allowed for ${cls} orders`);
  if (problems.length || t.side === undefined) return problems;

  // Where the prices lie. The legs exit on `exit`; a sell exit takes profit above its stop.
  const exit = legSide(cls, t.side);
  const tp = t.takeProfit && valid(t.takeProfit.limitPrice) ? new Decimal(t.takeProfit.limitPrice) : null;
  const sl = t.stopLoss && valid(t.stopLoss.stopPrice) ? new Decimal(t.stopLoss.stopPrice) : null;
  if (tp && sl && (exit === 'sell' ? !tp.gt(sl) : !tp.lt(sl))) {
    const message =
      exit === 'sell'
        ? `take_profit.limit_price (${tp.toString()}) must be above stop_loss.stop_price (${sl.toString()}) when the legs sell`
        : `take_profit.limit_price (${tp.toString()}) must be below stop_loss.stop_price (${sl.toString()}) when the legs buy`;
    add('take_profit.limit_price', message);
    add('stop_loss.stop_price', message);
  }
  if (cls !== 'oco' && t.orderType === 'limit' && valid(t.limitPrice)) {
    const entry = new Decimal(t.limitPrice);
    // A buy entry exits by selling: its stop below the entry price, its take-profit above it.
    if (sl && (exit === 'sell' ? sl.gte(entry) : sl.lte(entry))) {
      add(
        'stop_loss.stop_price',
        `must be ${exit === 'sell' ? 'below' : 'above'} the entry's limit_price (${entry.toString()}) for a ${t.side} entry`,
      );
    }
    if (tp && (exit === 'sell' ? tp.lte(entry) : tp.gte(entry))) {
      add(
        'take_profit.limit_price',
        `must be ${exit === 'sell' ? 'above' : 'below'} the entry's limit_price (${entry.toString()}) for a ${t.side} entry`,
      );
    }
  }
  return problems;
}

/** What a leg row is made of (the rest comes from its entry). */
export interface LegTerms {
  legType: LegType;
  clientOrderId: string;
  side: OrderSide;
  orderType: OrderType;
  limitPrice: string | null;
  stopPrice: string | null;
}

/** The legs an order of this class carries, in the order take-profit, stop-loss. */
export function legTermsOf(entry: {
  clientOrderId: string;
  orderClass: OrderClass;
  side: OrderSide;
  takeProfit: TakeProfit | null;
  stopLoss: StopLoss | null;
}): LegTerms[] {
  if (entry.orderClass === 'simple') return [];
  const side = legSide(entry.orderClass, entry.side);
  const legs: LegTerms[] = [];
  // An OCO is itself the take-profit: only its stop is a leg.
  if (entry.takeProfit && entry.orderClass !== 'oco') {
    legs.push({
      legType: 'take_profit',
      clientOrderId: legClientOrderId(entry.clientOrderId, 'take_profit'),
      side,
      orderType: 'limit',
      limitPrice: entry.takeProfit.limitPrice,
      stopPrice: null,
    });
  }
  if (entry.stopLoss) {
    legs.push({
      legType: 'stop_loss',
      clientOrderId: legClientOrderId(entry.clientOrderId, 'stop_loss'),
      side,
      orderType: entry.stopLoss.limitPrice ? 'stop_limit' : 'stop',
      limitPrice: entry.stopLoss.limitPrice,
      stopPrice: entry.stopLoss.stopPrice,
    });
  }
  return legs;
}

/**
 * Which local leg a broker's leg is: by the broker id a leg row already holds,
 * else by its type (a limit is the take-profit, a stop or stop-limit the
 * stop-loss). Null when it matches no leg of this entry.
 */
export function matchLeg<L extends { legType: LegType; brokerOrderId: string | null }>(
  brokerLeg: { id: string; type: string },
  legs: readonly L[],
): L | null {
  const byId = legs.find((l) => l.brokerOrderId === brokerLeg.id);
  if (byId) return byId;
  const legType: LegType | null =
    brokerLeg.type === 'limit'
      ? 'take_profit'
      : brokerLeg.type === 'stop' || brokerLeg.type === 'stop_limit'
        ? 'stop_loss'
        : null;
  return legs.find((l) => l.legType === legType && l.brokerOrderId === null) ?? null;
}
