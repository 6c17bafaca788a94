import { Body, Controller, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ApiErrors } from '../common/openapi';
import { logFields } from '../infra/http/request-observer.middleware';
import { OrderResponseDto } from '../orders/dto/order-response.dto';
import { toOrderResponse } from '../orders/order.mapper';
import { RateLimit } from '../risk/rate-limit/rate-limit.guard';
import { OrderCommand } from './order-command';
import { ORDER_REQUEST_EXAMPLES, OrderRequestDto } from './order-request.dto';
import { SubmitOrderUseCase } from './submit-order.use-case';

/** POST /orders: the HTTP entry to the order-entry door. The body is validated by OrderCommand.create. */
@ApiTags('orders')
@ApiKeyAuth()
@Controller('orders')
export class OrderEntryController {
  constructor(private readonly submitOrder: SubmitOrderUseCase) {}

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
}
