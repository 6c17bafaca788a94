import { Body, Controller, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ErrorResponseDto } from '../common/error-response.dto';
import { logFields } from '../infra/http/request-observer.middleware';
import { OrderResponseDto } from '../orders/dto/order-response.dto';
import { toOrderResponse } from '../orders/order.mapper';
import { RateLimit } from '../risk/rate-limit/rate-limit.guard';
import { OrderCommand } from './order-command';
import { OrderRequestDto } from './order-request.dto';
import { SubmitOrderUseCase } from './submit-order.use-case';

/** POST /orders: the HTTP entry to the order-entry door. The body is validated by OrderCommand.create. */
@ApiTags('orders')
@ApiKeyAuth()
@ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
@Controller('orders')
export class OrderEntryController {
  constructor(private readonly submitOrder: SubmitOrderUseCase) {}

  @Post()
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('submit')
  @ApiBody({ type: OrderRequestDto })
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
  @ApiResponse({ status: 403, type: ErrorResponseDto, description: 'Key lacks SUBMIT_ORDER or the strategy' })
  @ApiResponse({ status: 409, type: ErrorResponseDto, description: 'client_order_id names a different order' })
  @ApiResponse({ status: 429, type: ErrorResponseDto, description: 'RATE_LIMITED: submit budget spent (Retry-After)' })
  async submit(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderResponseDto> {
    const result = await this.submitOrder.execute(OrderCommand.create(body), principal, actor);
    logFields(res).clientOrderId = result.order.clientOrderId;
    res.status(result.pending ? HttpStatus.ACCEPTED : result.created ? HttpStatus.CREATED : HttpStatus.OK);
    return toOrderResponse(result.order, result.message);
  }
}
