/**
 * A TWAP request, validated (docs/twap.md#request): the order fields by the
 * order-entry door's own rules (OrderCommand), plus the schedule. Every bad
 * field is named in one 422.
 */
import { FieldProblem, InputValidationError } from '../common/domain-error';
import { normalizeWholeQuantity } from '../common/decimal';
import { textProblems } from '../common/text';
import { OrderCommand } from '../order-entry/order-command';
import {
  MAX_DURATION_MINUTES,
  MAX_INTERVAL_SECONDS,
  MAX_TOTAL_SLICES,
  MIN_INTERVAL_SECONDS,
  totalSlices,
} from './domain/twap-plan';

const SCHEDULE_FIELDS = ['duration_minutes', 'interval_seconds', 'trade_date'] as const;
/** Fields of a plain order that a plan does not take: each slice's id is derived from the plan's. */
const NOT_FOR_PLANS = ['client_order_id', 'type'];
/** Order terms a plan does not carry to its slices (docs/twap.md): refused rather than dropped. */
const NOT_SLICED = ['trail_price', 'trail_percent', 'extended_hours', 'take_profit', 'stop_loss'];
const DEFAULT_INTERVAL_SECONDS = 60;

export class SlicingCommand {
  private constructor(
    readonly order: OrderCommand,
    readonly durationMinutes: number,
    readonly intervalSeconds: number,
    /** YYYY-MM-DD, or undefined for the UTC date of acceptance. */
    readonly tradeDate: string | undefined,
  ) {}

  get qty(): number {
    return Number(this.order.qty);
  }

  get totalSlices(): number {
    return totalSlices(this.durationMinutes, this.intervalSeconds);
  }

  static create(raw: unknown): SlicingCommand {
    if (raw === undefined) raw = {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw InputValidationError.field('body', 'must be a JSON object');
    }
    const input = { ...(raw as Record<string, unknown>) };
    const textual = textProblems(input);
    if (textual.length) throw new InputValidationError(textual);
    const problems: FieldProblem[] = [];
    for (const field of NOT_FOR_PLANS) {
      if (field in input) {
        problems.push({ field, problems: ['is not a field of a TWAP plan (slice ids derive from the plan)'] });
        delete input[field];
      }
    }
    for (const field of NOT_SLICED) {
      if (field in input) {
        problems.push({ field, problems: ['is not supported for TWAP plans'] });
        delete input[field];
      }
    }
    if (input.order_class !== undefined && input.order_class !== null && input.order_class !== 'simple') {
      problems.push({ field: 'order_class', problems: ['only simple orders are sliced by TWAP plans'] });
      delete input.order_class;
    }
    if (input.order_type === 'trailing_stop') {
      problems.push({ field: 'order_type', problems: ['trailing_stop is not supported for TWAP plans'] });
      delete input.order_type;
    }
    const schedule: Record<string, unknown> = {};
    for (const f of SCHEDULE_FIELDS) {
      schedule[f] = input[f];
      delete input[f];
    }
    let order: OrderCommand | undefined;
    try {
      order = OrderCommand.create(input);
    } catch (err) {
      if (!(err instanceof InputValidationError)) throw err;
      problems.push(...err.fields);
    }
    const duration = wholeNumber(schedule.duration_minutes);
    if (schedule.duration_minutes === undefined || schedule.duration_minutes === null) {
      problems.push({ field: 'duration_minutes', problems: ['is required'] });
    } else if (duration === undefined || duration < 1 || duration > MAX_DURATION_MINUTES) {
      problems.push({
        field: 'duration_minutes',
        problems: [`must be a whole number of minutes from 1 to ${MAX_DURATION_MINUTES} (one trading day)`],
      });
    }
    const givenInterval = schedule.interval_seconds;
    const interval =
      givenInterval === undefined || givenInterval === null ? DEFAULT_INTERVAL_SECONDS : wholeNumber(givenInterval);
    if (interval === undefined || interval < MIN_INTERVAL_SECONDS || interval > MAX_INTERVAL_SECONDS) {
      problems.push({
        field: 'interval_seconds',
        problems: [`must be a whole number of seconds from ${MIN_INTERVAL_SECONDS} to ${MAX_INTERVAL_SECONDS}`],
      });
    } else if (duration !== undefined && duration >= 1 && duration <= MAX_DURATION_MINUTES) {
      const n = totalSlices(duration, interval);
      if (interval > duration * 60) {
        problems.push({ field: 'interval_seconds', problems: ['must not be longer than the duration'] });
      } else if (n > MAX_TOTAL_SLICES) {
        problems.push({
          field: 'interval_seconds',
          problems: [`gives ${n} slices at this duration; at most ${MAX_TOTAL_SLICES} are allowed`],
        });
      } else if (order && Number(order.qty) < n) {
        problems.push({
          field: 'qty',
          problems: [`is smaller than the number of slices (${n}): every slice needs at least one share`],
        });
      }
    }
    const tradeDate = schedule.trade_date;
    if (tradeDate !== undefined && tradeDate !== null && !isTradeDate(tradeDate)) {
      problems.push({ field: 'trade_date', problems: ['must be a date as YYYY-MM-DD'] });
    }
    if (problems.length || !order) throw new InputValidationError(problems);
    return new SlicingCommand(order, duration!, interval!, typeof tradeDate === 'string' ? tradeDate : undefined);
  }
}

function wholeNumber(v: unknown): number | undefined {
  if (v === undefined || v === null || typeof v === 'boolean') return undefined;
  const n = normalizeWholeQuantity(v);
  if (n === undefined || !/^\d{1,9}$/.test(n)) return undefined;
  return Number(n);
}

function isTradeDate(v: unknown): v is string {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00.000Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}
