import { Body, Controller, HttpStatus, Param, Patch, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ApiErrors } from '../common/openapi';
import { logFields } from '../infra/http/request-observer.middleware';
import { ClientOrderIdParamDto } from '../orders/dto/client-order-id.param.dto';
import { OrderResponseDto } from '../orders/dto/order-response.dto';
import { toOrderResponse } from '../orders/order.mapper';
import { RateLimit } from '../risk/rate-limit/rate-limit.guard';
import { OrderCommand } from './order-command';
import { ORDER_REQUEST_EXAMPLES, OrderRequestDto } from './order-request.dto';
import { ReplaceOrderCommand } from './replace-order.command';
import { REPLACE_REQUEST_EXAMPLES, ReplaceOrderRequestDto } from './replace-request.dto';
import { ReplaceOrderUseCase } from './replace-order.use-case';
import { SubmitOrderUseCase } from './submit-order.use-case';

/**
 * POST /orders and PATCH /orders/{id}: the HTTP entries to the order-entry door. Bodies are
 * validated by OrderCommand.create and ReplaceOrderCommand.create.
 */
@ApiTags('orders')
@ApiKeyAuth()
@Controller('orders')
export class OrderEntryController {
  constructor(
    private readonly submitOrder: SubmitOrderUseCase,
    private readonly replaceOrder: ReplaceOrderUseCase,
  ) {}

  @Post()
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('submit')
  @ApiBody({ type: OrderRequestDto, examples: ORDER_REQUEST_EXAMPLES })
  @ApiOperation({
    summary: 'Submit an order',
    description:
      'Validates, deduplicates and records the order. 201 when this request created it, 200 with the existing order when the same client_order_id was already taken by the same order, 409 when it names an order with different terms.',
  })
  @ApiResponse({ status: 201, type: OrderResponseDto, description: 'Order created' })
  @ApiResponse({ status: 200, type: OrderResponseDto, description: 'Order already existed (idempotent replay)' })
  @ApiResponse({
    status: 202,
    type: OrderResponseDto,
    description:
      'Recorded, broker outcome not known yet (submitted_unconfirmed after a timeout/5xx, or pending_new after a 429); follow GET /orders/{id}',
  })
  @ApiErrors(
    'STRATEGY_FORBIDDEN',
    'CLIENT_ORDER_ID_CONFLICT',
    'VALIDATION_FAILED',
    'FAT_FINGER_MAX_QTY',
    'MAX_POSITION_SIZE',
    'KILL_SWITCH_ENGAGED',
    'CIRCUIT_BREAKER_TRIPPED',
    'RECONCILIATION_GATE_REDUCE_ONLY',
    'SYMBOL_QUARANTINED',
    'BROKER_UNAVAILABLE',
  )
  async submit(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderResponseDto> {
    const result = await this.submitOrder.execute(OrderCommand.create(body), principal, actor);
    logFields(res).clientOrderId = result.order.clientOrderId;
    res.status(result.pending ? HttpStatus.ACCEPTED : result.created ? HttpStatus.CREATED : HttpStatus.OK);
    return toOrderResponse(result.order, result.message, result.legs);
  }

  @Patch(':client_order_id')
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('submit')
  @ApiBody({ type: ReplaceOrderRequestDto, examples: REPLACE_REQUEST_EXAMPLES })
  @ApiOperation({
    summary: 'Replace an open order',
    description:
      'Replaces an order open at the broker (new, partially_filled, done_for_day) with new terms: qty, the prices of its type, the trail of a trailing stop, time_in_force. The replacement is a new order (its own client_order_id, `<first order of the chain>-r<n>` unless given; `replaces` = this order), checked on its new terms (a replace that only reduces the quantity or moves a price away from the market always passes), written ahead and sent as a replace. Once the broker accepts it this order ends `replaced` with `replaced_by`. Fills of this order stay with it; the replacement is for its own qty. Answers the replacement: 200 accepted by the broker, 202 outcome pending (follow GET /orders/{id} of the replacement).',
  })
  @ApiResponse({
    status: 200,
    type: OrderResponseDto,
    description: 'Replacement accepted by the broker (or a replay of the same replace)',
  })
  @ApiResponse({
    status: 202,
    type: OrderResponseDto,
    description:
      'Replacement recorded; the broker outcome is not known yet (timeout, 429, or queued for the broker budget)',
  })
  @ApiErrors(
    'VALIDATION_FAILED',
    'NO_CHANGE',
    'REPLACE_REJECTED',
    'ORDER_NOT_FOUND',
    'ORDER_NOT_REPLACEABLE',
    'CLIENT_ORDER_ID_UNAVAILABLE',
    'FAT_FINGER_MAX_QTY',
    'MAX_POSITION_SIZE',
    'KILL_SWITCH_ENGAGED',
    'CIRCUIT_BREAKER_TRIPPED',
    'BROKER_UNAVAILABLE',
  )
  async replace(
    @Param() p: ClientOrderIdParamDto,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderResponseDto> {
    logFields(res).clientOrderId = p.client_order_id;
    const result = await this.replaceOrder.execute(
      p.client_order_id,
      ReplaceOrderCommand.create(body),
      principal,
      actor,
    );
    res.status(result.pending ? HttpStatus.ACCEPTED : HttpStatus.OK);
    return toOrderResponse(result.order, result.message);
  }
}
