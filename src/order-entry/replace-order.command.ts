/**
 * The body of a replace (PATCH /orders/{client_order_id}), validated on
 * creation with the same field rules as a new order's
 * (./order-command.ts): `ReplaceOrderCommand.create(raw)` names every bad or
 * unknown field in one InputValidationError. Whether a field applies to the
 * order being replaced is the door's question (../trading/order-replace.ts),
 * since only the order knows its type.
 */
import { FieldProblem, InputValidationError } from '../common/domain-error';
import { textProblems } from '../common/text';
import { FieldRule } from '../common/validators';
import { Order } from '../trading/order';
import { ReplaceRequest } from '../trading/order-replace';
import { TimeInForce } from '../trading/order-status';
import { ORDER_FIELD_RULES, SLICE_ID_FORMAT } from './order-command';

/** The body's fields (snake_case, as on the wire), in the order problems are reported. */
export const REPLACE_REQUEST_FIELDS = [
  'qty',
  'limit_price',
  'stop_price',
  'trail_price',
  'trail_percent',
  'trail',
  'time_in_force',
  'client_order_id',
] as const;
type Field = (typeof REPLACE_REQUEST_FIELDS)[number];

const RULES: Record<Field, FieldRule<string>> = {
  qty: ORDER_FIELD_RULES.qty,
  limit_price: ORDER_FIELD_RULES.limit_price,
  stop_price: ORDER_FIELD_RULES.stop_price,
  trail_price: ORDER_FIELD_RULES.trail_price,
  // `trail` (the broker's name) is the new trail in the unit the order has: checked as a price here,
  // and as a percent by the door when the order trails by percent.
  trail: ORDER_FIELD_RULES.trail_price,
  trail_percent: ORDER_FIELD_RULES.trail_percent,
  time_in_force: ORDER_FIELD_RULES.time_in_force,
  client_order_id: ORDER_FIELD_RULES.client_order_id,
};

export class ReplaceOrderCommand implements ReplaceRequest {
  private constructor(
    readonly qty: string | undefined,
    readonly limitPrice: string | undefined,
    readonly stopPrice: string | undefined,
    readonly trailPrice: string | undefined,
    readonly trailPercent: string | undefined,
    /** `trail` as given: resolved to trail_price or trail_percent against the order's unit. */
    readonly trail: string | undefined,
    readonly timeInForce: TimeInForce | undefined,
    readonly clientOrderId: string | undefined,
  ) {}

  static create(raw: unknown): ReplaceOrderCommand {
    if (raw === undefined) raw = {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw InputValidationError.field('body', 'must be a JSON object');
    }
    const input = raw as Record<string, unknown>;
    const textual = textProblems(input);
    if (textual.length) throw new InputValidationError(textual);
    const problems: FieldProblem[] = [];
    const known = new Set<string>(REPLACE_REQUEST_FIELDS);
    for (const key of Object.keys(input)) {
      if (!known.has(key)) {
        problems.push({
          field: key,
          problems: [
            ['symbol', 'side', 'order_type', 'type', 'strategy_id', 'extended_hours'].includes(key)
              ? 'cannot be changed by a replace (cancel the order and submit a new one)'
              : 'is not a known field',
          ],
        });
      }
    }
    const v: Partial<Record<Field, string>> = {};
    for (const field of REPLACE_REQUEST_FIELDS) {
      const given = input[field];
      if (given === undefined || given === null) continue;
      const rule = RULES[field];
      const value = rule.normalize(given);
      if (rule.isValid(value)) v[field] = value;
      else problems.push({ field, problems: [rule.message] });
    }
    if (v.trail !== undefined && (v.trail_price !== undefined || v.trail_percent !== undefined)) {
      problems.push({ field: 'trail', problems: ['give trail, or one of trail_price and trail_percent, not both'] });
    }
    if (v.trail_price !== undefined && v.trail_percent !== undefined) {
      const message = 'give only one of trail_price and trail_percent';
      problems.push({ field: 'trail_price', problems: [message] }, { field: 'trail_percent', problems: [message] });
    }
    if (v.client_order_id !== undefined && SLICE_ID_FORMAT.test(v.client_order_id)) {
      problems.push({ field: 'client_order_id', problems: ['is in the format reserved for TWAP slices'] });
    }
    if (problems.length) throw new InputValidationError(problems);
    return new ReplaceOrderCommand(
      v.qty,
      v.limit_price,
      v.stop_price,
      v.trail_price,
      v.trail_percent,
      v.trail,
      v.time_in_force as TimeInForce | undefined,
      v.client_order_id,
    );
  }

  /** The request against `order`: `trail` takes the unit the order trails by. */
  request(order: Pick<Order, 'orderType' | 'trailPrice'>): ReplaceRequest {
    if (this.trail !== undefined && order.orderType !== 'trailing_stop') {
      throw InputValidationError.field('trail', `does not apply to ${order.orderType} orders`);
    }
    const byPrice = order.trailPrice != null;
    if (this.trail !== undefined && !byPrice && !ORDER_FIELD_RULES.trail_percent.isValid(this.trail)) {
      throw InputValidationError.field('trail', ORDER_FIELD_RULES.trail_percent.message);
    }
    return {
      qty: this.qty,
      limitPrice: this.limitPrice,
      stopPrice: this.stopPrice,
      trailPrice: this.trailPrice ?? (this.trail !== undefined && byPrice ? this.trail : undefined),
      trailPercent: this.trailPercent ?? (this.trail !== undefined && !byPrice ? this.trail : undefined),
      timeInForce: this.timeInForce,
      clientOrderId: this.clientOrderId,
    };
  }
}
