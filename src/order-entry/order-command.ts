/**
 * The command every new order enters through (docs/architecture.md, "The
 * order-entry door"): `OrderCommand.create(raw)` normalizes and validates a
 * raw request — an HTTP body, a job's parameters, a command line's flags —
 * with the same field rules the rest of the API uses, and throws one
 * InputValidationError naming every bad field. An OrderCommand that exists is
 * valid: the door does not check its fields again.
 */
import { Decimal } from '../common/decimal';
import { FieldProblem, InputValidationError } from '../common/domain-error';
import { textProblems } from '../common/text';
import {
  FieldRule,
  identifierRule,
  oneOfRule,
  PRICE_RULE,
  SYMBOL_RULE,
  WHOLE_QUANTITY_RULE,
} from '../common/validators';
import { orderTermProblems, SubmitOrderCommand } from '../trading/order';
import {
  MAX_ENTRY_ID_LENGTH,
  ORDER_CLASSES,
  OrderClass,
  orderClassProblems,
  StopLoss,
  TakeProfit,
} from '../trading/order-class';
import { ORDER_SIDES, ORDER_TYPES, OrderSide, OrderType, TIME_IN_FORCE, TimeInForce } from '../trading/order-status';

/** The request's field names (snake_case, as on the wire), in the order problems are reported. */
export const ORDER_REQUEST_FIELDS = [
  'symbol',
  'side',
  'qty',
  'order_type',
  'limit_price',
  'stop_price',
  'time_in_force',
  'trail_price',
  'trail_percent',
  'extended_hours',
  'order_class',
  'client_order_id',
  'idempotency_key',
  'strategy_id',
] as const;

/** A trailing stop's trail in percent: a price-shaped decimal below 100. */
const TRAIL_PERCENT_RULE: FieldRule<string> = {
  normalize: PRICE_RULE.normalize,
  isValid: (v): v is string => PRICE_RULE.isValid(v) && new Decimal(v).lt(100),
  message:
    'must be a positive decimal below 100 with at most 8 decimal places (a JSON number or a string such as "1.5")',
};

/** A JSON boolean, kept as "true"/"false" among the other normalized fields. */
const BOOLEAN_RULE: FieldRule<string> = {
  normalize: (v) => (typeof v === 'boolean' ? String(v) : v),
  isValid: (v): v is string => v === 'true' || v === 'false',
  message: 'must be a boolean (true or false)',
};

/** The field rules of an order request (a replace's body reuses them). */
export const ORDER_FIELD_RULES = {
  symbol: SYMBOL_RULE,
  side: oneOfRule(ORDER_SIDES),
  qty: WHOLE_QUANTITY_RULE,
  order_type: oneOfRule(ORDER_TYPES),
  limit_price: PRICE_RULE,
  stop_price: PRICE_RULE,
  time_in_force: oneOfRule(TIME_IN_FORCE),
  trail_price: PRICE_RULE,
  trail_percent: TRAIL_PERCENT_RULE,
  extended_hours: BOOLEAN_RULE,
  order_class: oneOfRule(ORDER_CLASSES),
  client_order_id: identifierRule(48),
  idempotency_key: identifierRule(64),
  strategy_id: identifierRule(64),
} satisfies Record<(typeof ORDER_REQUEST_FIELDS)[number], FieldRule<string>>;

const DEFAULTS: Partial<Record<(typeof ORDER_REQUEST_FIELDS)[number], string>> = {
  order_type: 'market',
  time_in_force: 'day',
  order_class: 'simple',
};

/** The legs' objects: their fields (the first of stop_loss's is required; take_profit's only one is too). */
const LEG_OBJECTS = {
  take_profit: ['limit_price'],
  stop_loss: ['stop_price', 'limit_price'],
} as const;
type LegObject = keyof typeof LEG_OBJECTS;
/** A leg object's prices: a valid price, `'?'` for one given but malformed, null for one absent. */
type ParsedLeg = Partial<Record<'limit_price' | 'stop_price', string | null>>;

function parseLegObject(name: LegObject, raw: unknown, problems: FieldProblem[]): ParsedLeg | null {
  if (raw === undefined || raw === null) return null;
  const fields: readonly string[] = LEG_OBJECTS[name];
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    problems.push({ field: name, problems: [`must be an object {${fields.join(', ')}}`] });
    return {};
  }
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!fields.includes(key)) problems.push({ field: `${name}.${key}`, problems: ['is not a known field'] });
  }
  const parsed: ParsedLeg = {};
  fields.forEach((field, i) => {
    const key = field as 'limit_price' | 'stop_price';
    if (!given(input[key])) {
      parsed[key] = null;
      if (i === 0) problems.push({ field: `${name}.${key}`, problems: ['is required'] });
      return;
    }
    const value = PRICE_RULE.normalize(input[key]);
    if (PRICE_RULE.isValid(value)) parsed[key] = value;
    else {
      parsed[key] = '?';
      problems.push({ field: `${name}.${key}`, problems: [PRICE_RULE.message] });
    }
  });
  return parsed;
}
const REQUIRED = new Set(['symbol', 'side', 'qty']);
/** The ids of TWAP slices (`<parent_order_id>-s<i>`, docs/twap.md): only the TWAP dispatcher writes them. */
export const SLICE_ID_FORMAT = /^[0-9a-f]{24}-s\d+$/;

export class OrderCommand implements SubmitOrderCommand {
  private constructor(
    readonly symbol: string,
    readonly side: OrderSide,
    readonly qty: string,
    readonly orderType: OrderType,
    readonly limitPrice: string | null,
    readonly stopPrice: string | null,
    readonly timeInForce: TimeInForce,
    readonly strategyId: string | undefined,
    readonly clientOrderId: string | undefined,
    readonly idempotencyKey: string | undefined,
    readonly trailPrice: string | null = null,
    readonly trailPercent: string | null = null,
    readonly extendedHours: boolean = false,
    readonly orderClass: OrderClass = 'simple',
    readonly takeProfit: TakeProfit | null = null,
    readonly stopLoss: StopLoss | null = null,
  ) {}

  /** The leg terms, flat, as an order keeps them. */
  get takeProfitLimitPrice(): string | null {
    return this.takeProfit?.limitPrice ?? null;
  }

  get stopLossStopPrice(): string | null {
    return this.stopLoss?.stopPrice ?? null;
  }

  get stopLossLimitPrice(): string | null {
    return this.stopLoss?.limitPrice ?? null;
  }

  /**
   * The command `raw` asks for, normalized (`" aapl "` → `AAPL`, `10.0` →
   * `"10"`, `150.50` → `"150.5"`, defaults filled in), or an
   * InputValidationError naming every bad field: unknown fields, field rules,
   * and the rules across fields (which prices each order type needs).
   */
  static create(raw: unknown): OrderCommand {
    return OrderCommand.parse(raw, false);
  }

  /** A TWAP slice's order: as `create`, and its client_order_id may be a slice id. */
  static forSlice(raw: unknown): OrderCommand {
    return OrderCommand.parse(raw, true);
  }

  private static parse(raw: unknown, slice: boolean): OrderCommand {
    // No body at all (or one not read as JSON) is an order with no fields: each required one is named.
    if (raw === undefined) raw = {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw InputValidationError.field('body', 'must be a JSON object');
    }
    let input = raw as Record<string, unknown>;
    // Text PostgreSQL would refuse, in any field or key, known or not (docs/security.md#input-validation).
    const textual = textProblems(input);
    if (textual.length) throw new InputValidationError(textual);
    const problems: FieldProblem[] = [];
    // `type` is accepted as an alias of `order_type` (the clients of the original design send it);
    // both given and different is ambiguous, and refused.
    let aliased = false;
    if (Object.prototype.hasOwnProperty.call(input, 'type')) {
      const { type, ...rest } = input;
      const orderType = rest.order_type;
      aliased = (orderType === undefined || orderType === null) && type !== undefined && type !== null;
      if (orderType !== undefined && orderType !== null && type !== undefined && type !== null && orderType !== type) {
        problems.push({
          field: 'type',
          problems: [`is an alias of order_type and differs from it (${String(orderType)}): give one of them`],
        });
      }
      input = { ...rest, order_type: orderType ?? type };
    }
    const known = new Set<string>([...ORDER_REQUEST_FIELDS, ...Object.keys(LEG_OBJECTS)]);
    for (const key of Object.keys(input)) {
      if (!known.has(key)) problems.push({ field: key, problems: ['is not a known field'] });
    }
    const v: Partial<Record<(typeof ORDER_REQUEST_FIELDS)[number], string>> = {};
    for (const field of ORDER_REQUEST_FIELDS) {
      const given = input[field];
      if ((given === undefined || given === null) && !REQUIRED.has(field)) {
        if (DEFAULTS[field] !== undefined) v[field] = DEFAULTS[field];
        continue;
      }
      const rule: FieldRule<string> = ORDER_FIELD_RULES[field];
      const value = rule.normalize(given);
      if (rule.isValid(value)) v[field] = value;
      // A bad order type given as `type` is named as the client wrote it.
      else problems.push({ field: aliased && field === 'order_type' ? 'type' : field, problems: [rule.message] });
    }
    const takeProfit = parseLegObject('take_profit', input.take_profit, problems);
    const stopLoss = parseLegObject('stop_loss', input.stop_loss, problems);
    const orderClass = v.order_class as OrderClass | undefined;
    if (orderClass === 'oco' && !given(input.order_type)) v.order_type = 'limit'; // an OCO is its take-profit limit
    if (orderClass !== undefined) {
      const named = new Set(problems.map((p) => p.field));
      const classProblems = orderClassProblems({
        orderClass,
        side: v.side as OrderSide | undefined,
        orderType: v.order_type as OrderType | undefined,
        limitPrice: given(input.limit_price) ? (v.limit_price ?? '?') : null,
        timeInForce: v.time_in_force as TimeInForce | undefined,
        extendedHours: v.extended_hours === 'true',
        takeProfit: takeProfit && { limitPrice: takeProfit.limit_price ?? null },
        stopLoss: stopLoss && { stopPrice: stopLoss.stop_price ?? null, limitPrice: stopLoss.limit_price ?? null },
      });
      problems.push(...classProblems.filter((p) => !named.has(p.field)));
      if (
        orderClass !== 'simple' &&
        v.client_order_id !== undefined &&
        v.client_order_id.length > MAX_ENTRY_ID_LENGTH
      ) {
        problems.push({
          field: 'client_order_id',
          problems: [
            `must be at most ${MAX_ENTRY_ID_LENGTH} characters for an order with legs (its legs' ids add "-tp" / "-sl")`,
          ],
        });
      }
    }
    // An OCO's price is its take-profit's.
    const ocoPrice = orderClass === 'oco' && v.order_type === 'limit' ? (takeProfit?.limit_price ?? '?') : undefined;
    if (v.order_type !== undefined) {
      const named = new Set(problems.map((p) => p.field));
      const cross = orderTermProblems({
        orderType: v.order_type as OrderType,
        // A price that failed its own rule was given: it still counts as given here.
        limitPrice: ocoPrice !== undefined ? ocoPrice : given(input.limit_price) ? (v.limit_price ?? '?') : null,
        stopPrice: given(input.stop_price) ? (v.stop_price ?? '?') : null,
        trailPrice: given(input.trail_price) ? (v.trail_price ?? '?') : null,
        trailPercent: given(input.trail_percent) ? (v.trail_percent ?? '?') : null,
        extendedHours: v.extended_hours === 'true',
        timeInForce: v.time_in_force as TimeInForce | undefined,
      });
      problems.push(...cross.filter((p) => !named.has(p.field)));
    }
    if (!slice && v.client_order_id !== undefined && SLICE_ID_FORMAT.test(v.client_order_id)) {
      // A slice's id taken by another order would refuse the slice (or pass the order off as it).
      problems.push({ field: 'client_order_id', problems: ['is in the format reserved for TWAP slices'] });
    }
    if (problems.length) throw new InputValidationError(problems);
    const tp = takeProfit?.limit_price ? { limitPrice: takeProfit.limit_price } : null;
    const sl = stopLoss?.stop_price
      ? { stopPrice: stopLoss.stop_price, limitPrice: stopLoss.limit_price ?? null }
      : null;
    return new OrderCommand(
      v.symbol!,
      v.side as OrderSide,
      v.qty!,
      v.order_type as OrderType,
      orderClass === 'oco' ? tp!.limitPrice : (v.limit_price ?? null),
      v.stop_price ?? null,
      v.time_in_force as TimeInForce,
      v.strategy_id,
      v.client_order_id,
      v.idempotency_key,
      v.trail_price ?? null,
      v.trail_percent ?? null,
      v.extended_hours === 'true',
      orderClass ?? 'simple',
      tp,
      sl,
    );
  }
}

const given = (value: unknown): boolean => value !== undefined && value !== null;
