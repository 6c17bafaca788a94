import { Body, Controller, Get, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ErrorResponseDto } from '../common/error-response.dto';
import { RateLimit } from '../risk/rate-limit/rate-limit.guard';
import { ClientOrderIdParamDto } from './dto/client-order-id.param.dto';
import { ListOrdersQueryDto } from './dto/list-orders.query.dto';
import { OrderRequestDto } from './dto/order-request.dto';
import {
  CancelOrderResponseDto,
  OrderDetailDto,
  OrderListResponseDto,
  OrderResponseDto,
} from './dto/order-response.dto';
import { logFields } from '../infra/http/request-observer.middleware';
import { toOrderDetail, toOrderResponse } from './order.mapper';
import { CancelOrderUseCase } from './use-cases/cancel-order.use-case';
import { QueryOrdersUseCase } from './use-cases/query-orders.use-case';
import { SubmitOrderUseCase } from './use-cases/submit-order.use-case';

@ApiTags('orders')
@ApiKeyAuth()
@ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly submitOrder: SubmitOrderUseCase,
    private readonly queryOrders: QueryOrdersUseCase,
    private readonly cancelOrder: CancelOrderUseCase,
  ) {}

  @Post()
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('submit')
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
    @Body() body: OrderRequestDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderResponseDto> {
    const result = await this.submitOrder.execute(
      {
        symbol: body.symbol,
        side: body.side,
        qty: body.qty,
        orderType: body.order_type,
        limitPrice: body.limit_price ?? null,
        stopPrice: body.stop_price ?? null,
        timeInForce: body.time_in_force,
        strategyId: body.strategy_id,
        clientOrderId: body.client_order_id,
        idempotencyKey: body.idempotency_key,
      },
      principal,
      actor,
    );
    logFields(res).clientOrderId = result.order.clientOrderId;
    res.status(result.pending ? HttpStatus.ACCEPTED : result.created ? HttpStatus.CREATED : HttpStatus.OK);
    return toOrderResponse(result.order, result.message);
  }

  @Get()
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({ summary: 'List orders, newest first, with filters and cursor pagination' })
  @ApiResponse({ status: 200, type: OrderListResponseDto })
  async list(@Query() q: ListOrdersQueryDto, @CurrentPrincipal() principal: Principal): Promise<OrderListResponseDto> {
    const page = await this.queryOrders.list(
      {
        statuses: q.status,
        symbol: q.symbol,
        strategyId: q.strategy_id,
        createdAfter: q.created_after ? new Date(q.created_after) : undefined,
        createdBefore: q.created_before ? new Date(q.created_before) : undefined,
        limit: q.limit,
        cursor: q.cursor,
      },
      principal,
    );
    return { orders: page.orders.map(toOrderDetail), next_cursor: page.nextCursor };
  }

  @Get(':client_order_id')
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({ summary: 'One order in full' })
  @ApiResponse({ status: 200, type: OrderDetailDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: "Unknown, or outside the key's strategies" })
  async get(
    @Param() p: ClientOrderIdParamDto,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderDetailDto> {
    logFields(res).clientOrderId = p.client_order_id;
    return toOrderDetail(await this.queryOrders.get(p.client_order_id, principal));
  }

  @Post(':client_order_id/cancel')
  @RequirePermissions('CANCEL_ORDER')
  @RateLimit('cancel')
  @ApiOperation({
    summary: 'Cancel an order',
    description:
      'At the broker when it has the order, locally when it never got it. Idempotent: an order that already ended answers 200 with its status. The final `canceled` (or a fill that won the race) arrives as an update.',
  })
  @ApiResponse({ status: 200, type: CancelOrderResponseDto })
  @ApiResponse({
    status: 202,
    type: CancelOrderResponseDto,
    description: 'Cancel recorded; the broker outcome is pending',
  })
  @ApiResponse({ status: 404, type: ErrorResponseDto })
  @ApiResponse({ status: 409, type: ErrorResponseDto, description: 'ORDER_NOT_CANCELABLE: the broker refused' })
  @ApiResponse({ status: 429, type: ErrorResponseDto, description: 'RATE_LIMITED: cancel budget spent (Retry-After)' })
  async cancel(
    @Param() p: ClientOrderIdParamDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CancelOrderResponseDto> {
    logFields(res).clientOrderId = p.client_order_id;
    const r = await this.cancelOrder.execute(p.client_order_id, principal, actor);
    res.status(r.pending ? HttpStatus.ACCEPTED : HttpStatus.OK);
    return {
      client_order_id: r.order.clientOrderId,
      status: r.order.status,
      broker_order_id: r.order.brokerOrderId,
      message: r.message,
    };
  }
}
