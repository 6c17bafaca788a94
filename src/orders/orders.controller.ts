import { Controller, Get, HttpStatus, Param, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ErrorResponseDto } from '../common/error-response.dto';
import { RateLimit } from '../risk/rate-limit/rate-limit.guard';
import { ClientOrderIdParamDto } from './dto/client-order-id.param.dto';
import { ListOrdersQueryDto } from './dto/list-orders.query.dto';
import { CancelOrderResponseDto, OrderListResponseDto } from './dto/order-response.dto';
import { logFields } from '../infra/http/request-observer.middleware';
import {
  OrderAuditResponseDto,
  OrderWithFillsDto,
  PendingOrdersQueryDto,
  PendingOrdersResponseDto,
  RecentFillsQueryDto,
  RecentFillsResponseDto,
} from './dto/order-views.dto';
import { toAuditEntryDto, toFillDto, toOrderDetail, toOrderLeg } from './order.mapper';
import { CancelOrderUseCase } from './use-cases/cancel-order.use-case';
import { QueryOrdersUseCase } from './use-cases/query-orders.use-case';

@ApiTags('orders')
@ApiKeyAuth()
@ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly queryOrders: QueryOrdersUseCase,
    private readonly cancelOrder: CancelOrderUseCase,
  ) {}

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

  // Declared before ':client_order_id', which would otherwise take these paths as an id.
  @Get('pending')
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({
    summary: 'Open orders (every order not yet ended), oldest first',
    description:
      "Within the key's strategies. `parent_order_id` lists a TWAP plan's open children (slices not yet sent are in the plan, not here).",
  })
  @ApiResponse({ status: 200, type: PendingOrdersResponseDto })
  async pending(
    @Query() q: PendingOrdersQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<PendingOrdersResponseDto> {
    const orders = await this.queryOrders.pending(
      { symbol: q.symbol, strategyId: q.strategy_id, parentOrderId: q.parent_order_id },
      principal,
    );
    return { orders: orders.map(toOrderDetail), total: orders.length };
  }

  @Get('recent-fills')
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({ summary: "The newest fills, within the key's strategies" })
  @ApiResponse({ status: 200, type: RecentFillsResponseDto })
  async recentFills(
    @Query() q: RecentFillsQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<RecentFillsResponseDto> {
    const r = await this.queryOrders.recentFills(
      { symbol: q.symbol, strategyId: q.strategy_id, limit: q.limit },
      principal,
    );
    return { fills: r.fills.map(toFillDto), total: r.total };
  }

  @Get(':client_order_id')
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({ summary: 'One order in full, with its fills (and, for a bracket, oto or oco, its legs)' })
  @ApiResponse({ status: 200, type: OrderWithFillsDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: "Unknown, or outside the key's strategies" })
  async get(
    @Param() p: ClientOrderIdParamDto,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderWithFillsDto> {
    logFields(res).clientOrderId = p.client_order_id;
    const { order, fills, legs } = await this.queryOrders.getWithFills(p.client_order_id, principal);
    return { ...toOrderDetail(order), fills: fills.map(toFillDto), ...(legs ? { legs: legs.map(toOrderLeg) } : {}) };
  }

  @Get(':client_order_id/audit')
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({ summary: "The order's audit trail, oldest first" })
  @ApiResponse({ status: 200, type: OrderAuditResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: "Unknown, or outside the key's strategies" })
  async audit(
    @Param() p: ClientOrderIdParamDto,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderAuditResponseDto> {
    logFields(res).clientOrderId = p.client_order_id;
    const entries = await this.queryOrders.audit(p.client_order_id, principal);
    return { client_order_id: p.client_order_id, entries: entries.map(toAuditEntryDto) };
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
