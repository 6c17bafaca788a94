/**
 * POST /manual/orders (docs/operator-controls.md#manual-orders): an operator's
 * order, through the one order-entry door with the same validation, id rules
 * and checks as POST /orders. The body is an order request plus `reason`
 * (required) and `operator`; the order's metadata records
 * `{source: "manual", reason, operator}`. A repeat (the id already names this
 * order) is 409 DUPLICATE_ORDER with the existing order in `details.order`:
 * an operator repeating a manual order by accident is told so.
 */
import { Injectable } from '@nestjs/common';
import { ActorContext } from '../audit/audit-entry';
import { Principal } from '../auth/permission';
import { ConflictError, FieldProblem, InputValidationError } from '../common/domain-error';
import { isReservedActorName, RESERVED_ACTOR_NAMES } from '../common/system-actors';
import { OrderCommand } from '../order-entry/order-command';
import { SubmitOrderResult, SubmitOrderUseCase } from '../order-entry/submit-order.use-case';
import { toOrderDetail } from '../orders/order.mapper';

export interface ManualOrderInput {
  command: OrderCommand;
  reason: string;
  operator: string | undefined;
}

/** Splits the body into the order request and the manual fields, naming every bad field at once. */
export function parseManualOrder(raw: unknown): ManualOrderInput {
  if (raw === undefined) raw = {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw InputValidationError.field('body', 'must be a JSON object');
  }
  const { reason, operator, ...order } = raw as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  let command: OrderCommand | undefined;
  try {
    command = OrderCommand.create(order);
  } catch (err) {
    if (!(err instanceof InputValidationError)) throw err;
    problems.push(...err.fields);
  }
  if (typeof reason !== 'string' || !/\S/.test(reason) || reason.length > 500) {
    problems.push({ field: 'reason', problems: ['is required: 1-500 characters, not blank'] });
  }
  if (operator !== undefined && operator !== null) {
    if (typeof operator !== 'string' || !/\S/.test(operator) || operator.length > 200) {
      problems.push({ field: 'operator', problems: ['must be 1-200 characters, not blank'] });
    } else if (isReservedActorName(operator)) {
      problems.push({ field: 'operator', problems: [`is reserved: ${RESERVED_ACTOR_NAMES.join(', ')}`] });
    }
  }
  if (problems.length || !command) throw new InputValidationError(problems);
  return { command, reason: reason as string, operator: (operator as string | null | undefined) ?? undefined };
}

@Injectable()
export class ManualOrderUseCase {
  constructor(private readonly submitOrder: SubmitOrderUseCase) {}

  async execute(input: ManualOrderInput, principal: Principal, ctx: ActorContext): Promise<SubmitOrderResult> {
    const operator = input.operator ?? ctx.actor;
    const result = await this.submitOrder.execute(input.command, principal, ctx, {
      metadata: { source: 'manual', reason: input.reason, operator },
    });
    if (!result.created) {
      throw new ConflictError(
        'DUPLICATE_ORDER',
        `This manual order already exists (client_order_id ${result.order.clientOrderId}); send an idempotency_key or your own client_order_id to place a second one`,
        { client_order_id: result.order.clientOrderId, order: toOrderDetail(result.order) },
      );
    }
    return result;
  }
}
