/**
 * Alpaca order webhooks carry a `trade_updates` message's `data` as plain wire
 * JSON (snake_case, decimal strings, RFC 3339 timestamps):
 * `{event, execution_id, order, timestamp, price, qty, position_qty}`.
 *
 * A webhook is input from outside like any request body
 * (docs/security.md#webhooks): before it is mapped, no string in it may carry
 * text PostgreSQL refuses; after, the symbol must be a symbol (checked raw,
 * common/symbol.ts) and every price — the fill's, `filled_avg_price`, the
 * limit and stop — positive, below MAX_PRICE and within MAX_PRICE_DECIMALS
 * places (the columns are unconstrained NUMERIC: the scale is the gateway's own,
 * docs/api.md#numbers-and-decimals). Every problem names its field.
 *
 * The original design's minimal body is accepted too (docs/api.md#compatibility):
 * `{event, order: {id, client_order_id, symbol, side, qty, filled_qty,
 * filled_avg_price, status}, timestamp}`. Its order lacks `type`,
 * `time_in_force` and `created_at`, which no update decision reads: the
 * type and time in force read `unknown`, the creation time is the event's.
 * Without an `execution_id` a fill dedupes on the order's cumulative
 * `filled_qty`, like every channel that names no execution.
 */
import type { FieldProblem } from '../../common/domain-error';
import { Decimal } from '../../common/decimal';
import { parseSymbol, SYMBOL_PROBLEM } from '../../common/symbol';
import { textProblems } from '../../common/text';
import { MAX_PRICE, MAX_PRICE_DECIMALS, PRICE_RULE } from '../../common/validators';
import type { OrderUpdate } from '../broker-client.port';
import { timestampOrNull, toBrokerOrder, withExecution } from './alpaca-parse';

export class WebhookPayloadError extends Error {
  constructor(readonly fields: FieldProblem[]) {
    super(fields.map((f) => `${f.field} ${f.problems.join('; ')}`).join('. '));
    this.name = 'WebhookPayloadError';
  }

  static field(field: string, problem: string): WebhookPayloadError {
    return new WebhookPayloadError([{ field, problems: [problem] }]);
  }
}

export const WEBHOOK_PRICE_PROBLEM = `must be a positive decimal below ${MAX_PRICE} with at most ${MAX_PRICE_DECIMALS} decimal places`;

export function parseAlpacaWebhook(body: unknown): OrderUpdate {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw WebhookPayloadError.field('body', 'must be a JSON object');
  }
  const textual = textProblems(body);
  if (textual.length) throw new WebhookPayloadError(textual);
  const data = body as Record<string, unknown>;
  if (typeof data.event !== 'string' || data.event === '') throw WebhookPayloadError.field('event', 'must be a string');
  if (typeof data.order !== 'object' || data.order === null || Array.isArray(data.order)) {
    throw WebhookPayloadError.field('order', 'must be an object');
  }
  let update: OrderUpdate;
  try {
    const order = toBrokerOrder(withMinimalDefaults(data.order as Record<string, unknown>, data.timestamp));
    const at = timestampOrNull(data.timestamp, 'timestamp') ?? order.updatedAt ?? order.createdAt;
    update = withExecution(
      { event: data.event, order, at },
      data.execution_id,
      data.qty,
      data.price,
      data.position_qty,
    );
  } catch (err) {
    // The mapper's messages start with the field they are about (`order.qty is not a decimal string: …`).
    const message = (err as Error).message;
    const space = message.indexOf(' ');
    const field = space > 0 ? message.slice(0, space).replace(/^trade_update\./, '') : 'body';
    throw WebhookPayloadError.field(field, space > 0 ? message.slice(space + 1) : message);
  }
  const problems = valueProblems(update);
  if (problems.length) throw new WebhookPayloadError(problems);
  update.order.symbol = parseSymbol(update.order.symbol)!;
  return update;
}

/** Fills what the minimal body leaves out; a full Alpaca order passes unchanged. */
function withMinimalDefaults(order: Record<string, unknown>, timestamp: unknown): Record<string, unknown> {
  const absent = (v: unknown) => v === undefined || v === null || v === '';
  const filled = { ...order };
  if (absent(order.type) && absent(order.order_type)) filled.type = 'unknown';
  if (absent(order.time_in_force)) filled.time_in_force = 'unknown';
  if (absent(order.created_at) && absent(order.submitted_at)) {
    filled.created_at = absent(order.updated_at) ? timestamp : order.updated_at;
  }
  return filled;
}

/** The rules the mapper does not know: the symbol's, the prices' and the fill quantity's. */
function valueProblems(u: OrderUpdate): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const add = (field: string, problem: string) => problems.push({ field, problems: [problem] });
  if (parseSymbol(u.order.symbol) === null) add('order.symbol', SYMBOL_PROBLEM);
  const prices: Array<[string, string | null | undefined]> = [
    ['price', u.execution?.price],
    ['order.filled_avg_price', u.order.filledAvgPrice],
    ['order.limit_price', u.order.limitPrice],
    ['order.stop_price', u.order.stopPrice],
  ];
  for (const [field, value] of prices) {
    if (value !== null && value !== undefined && !PRICE_RULE.isValid(value)) add(field, WEBHOOK_PRICE_PROBLEM);
  }
  if (u.execution && !new Decimal(u.execution.qty).gt(0)) add('qty', 'must be a positive decimal');
  if (u.order.qty !== null && !new Decimal(u.order.qty).gt(0)) add('order.qty', 'must be a positive decimal');
  if (new Decimal(u.order.filledQty).lt(0)) add('order.filled_qty', 'must not be negative');
  return problems;
}
