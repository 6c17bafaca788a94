import { Body, Controller, HttpCode, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { InputValidationError } from '../common/domain-error';
import { ErrorResponseDto } from '../common/error-response.dto';
import { SYMBOL_RULE } from '../common/validators';
import { logFields } from '../infra/http/request-observer.middleware';
import { OrderResponseDto } from '../orders/dto/order-response.dto';
import { toOrderResponse } from '../orders/order.mapper';
import { RateLimit } from '../risk/rate-limit/rate-limit.guard';
import { SubmitOrderResult } from '../order-entry/submit-order.use-case';
import { AdjustPositionDto, ClosePositionDto, FlattenAllDto, FlattenAllResponseDto } from './dto/manual-controls.dto';
import { FlattenPositionsUseCase } from './flatten-positions.use-case';
import { PositionControlsUseCase, PositionOrderOptions } from './position-controls.use-case';

const ORDER_EXAMPLE = {
  client_order_id: 'close-3f9a1c2b7d4e5f6a7b8c',
  status: 'new',
  broker_order_id: 'b0b6dd9d-8b9b-48a9-ba46-b9d54906e415',
  symbol: 'AAPL',
  side: 'sell',
  qty: 100,
  order_type: 'market',
  limit_price: null,
  created_at: '2026-01-02T15:04:05.123Z',
  message: 'Order submitted to the broker',
};

function symbolOf(raw: string): string {
  const symbol = SYMBOL_RULE.normalize(raw);
  if (!SYMBOL_RULE.isValid(symbol)) throw InputValidationError.field('symbol', SYMBOL_RULE.message);
  return symbol;
}

function optionsOf(body: ClosePositionDto | AdjustPositionDto): PositionOrderOptions {
  if ((body.order_type ?? 'market') === 'market' && body.limit_price !== undefined) {
    throw InputValidationError.field('limit_price', 'is only for order_type limit');
  }
  return {
    orderType: body.order_type,
    limitPrice: body.limit_price,
    strategyId: body.strategy_id,
    idempotencyKey: body.idempotency_key,
    reason: body.reason,
    operator: body.operator,
  };
}

const ERRORS = [
  ApiResponse({
    status: 403,
    type: ErrorResponseDto,
    description: 'Key lacks SUBMIT_ORDER, or is limited to some strategies (needs "*")',
  }),
  ApiResponse({
    status: 409,
    type: ErrorResponseDto,
    description:
      'CLOSE_PENDING (open orders already close it) or POSITION_BUSY (another close of the symbol is under way)',
  }),
  ApiResponse({ status: 503, type: ErrorResponseDto, description: 'KILL_SWITCH_ENGAGED, SAFETY_STATE_UNAVAILABLE' }),
];
const applyAll =
  (decorators: MethodDecorator[]): MethodDecorator =>
  (t, k, d) => {
    for (const dec of decorators) dec(t, k, d);
  };

@ApiTags('manual controls')
@ApiKeyAuth('SUBMIT_ORDER')
@Controller('positions')
export class PositionControlsController {
  constructor(
    private readonly controls: PositionControlsUseCase,
    private readonly flatten: FlattenPositionsUseCase,
  ) {}

  // Declared before '{symbol}/close': a symbol is never "flatten-all", but the route table reads clearer so.
  @Post('flatten-all')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('submit')
  @ApiOperation({
    summary: 'Cancel every open order, then close every position',
    description:
      'Cancels every open order first, then sends one reduce-only market order per non-zero position (strategy_id from the body, default `manual`). Per-symbol refusals are listed in `failed`.',
  })
  @ApiBody({
    type: FlattenAllDto,
    examples: { endOfDay: { value: { reason: 'end of day: flat book', operator: 'jane.doe' } } },
  })
  @ApiResponse({
    status: 200,
    type: FlattenAllResponseDto,
    content: {
      'application/json': {
        example: {
          canceled: ['b1c2d3e4f5a6b7c8d9e0f1a2'],
          orders: [{ ...ORDER_EXAMPLE, client_order_id: 'flatten-0c1d2e3f4a5b6c7d8e9f' }],
          failed: [],
        },
      },
    },
  })
  @applyAll(ERRORS)
  async flattenAll(
    @Body() body: FlattenAllDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
  ): Promise<FlattenAllResponseDto> {
    const r = await this.flatten.execute(
      { strategyId: body.strategy_id, reason: body.reason, operator: body.operator },
      principal,
      actor,
    );
    return { canceled: r.canceled, orders: r.orders.map((o) => toOrderResponse(o.order, o.message)), failed: r.failed };
  }

  @Post(':symbol/close')
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('submit')
  @ApiParam({ name: 'symbol', example: 'AAPL' })
  @ApiOperation({
    summary: 'Close a position (all of it, or qty)',
    description:
      'One reduce-only order: sells a long, buys a short. Default qty: the position minus what open orders on that side already close. Passes the circuit breaker, the reconciliation gate and quarantines; not the kill switch. 201 when created, 200 when an idempotency_key retry finds its order.',
  })
  @ApiBody({
    type: ClosePositionDto,
    examples: {
      all: { value: { reason: 'risk reduction', operator: 'jane.doe' } },
      partialLimit: { value: { qty: 50, order_type: 'limit', limit_price: '151.20', idempotency_key: 'close-aapl-1' } },
    },
  })
  @ApiResponse({ status: 201, type: OrderResponseDto, content: { 'application/json': { example: ORDER_EXAMPLE } } })
  @ApiResponse({ status: 200, type: OrderResponseDto, description: 'idempotency_key retry: the order it created' })
  @ApiResponse({
    status: 422,
    type: ErrorResponseDto,
    description: 'POSITION_FLAT, CLOSE_EXCEEDS_POSITION, invalid input',
  })
  @applyAll(ERRORS)
  async close(
    @Param('symbol') raw: string,
    @Body() body: ClosePositionDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderResponseDto> {
    const r = await this.controls.close(symbolOf(raw), body.qty, optionsOf(body), principal, actor);
    return this.answer(r, res);
  }

  @Post(':symbol/adjust')
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('submit')
  @ApiParam({ name: 'symbol', example: 'AAPL' })
  @ApiOperation({
    summary: 'Bring a position to target_qty',
    description:
      'One order for the difference. Toward zero it is reduce-only (as a close); away from zero it adds exposure and every pre-trade check applies.',
  })
  @ApiBody({
    type: AdjustPositionDto,
    examples: { reduce: { value: { target_qty: 60, reason: 'trim', operator: 'jane.doe' } } },
  })
  @ApiResponse({
    status: 201,
    type: OrderResponseDto,
    content: { 'application/json': { example: { ...ORDER_EXAMPLE, qty: 40 } } },
  })
  @ApiResponse({ status: 200, type: OrderResponseDto, description: 'idempotency_key retry: the order it created' })
  @ApiResponse({
    status: 422,
    type: ErrorResponseDto,
    description: 'ADJUST_CROSSES_ZERO, NO_CHANGE, a risk limit, invalid input',
  })
  @applyAll(ERRORS)
  async adjust(
    @Param('symbol') raw: string,
    @Body() body: AdjustPositionDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderResponseDto> {
    const r = await this.controls.adjust(symbolOf(raw), body.target_qty, optionsOf(body), principal, actor);
    return this.answer(r, res);
  }

  private answer(r: SubmitOrderResult, res: Response): OrderResponseDto {
    logFields(res).clientOrderId = r.order.clientOrderId;
    res.status(r.pending ? HttpStatus.ACCEPTED : r.created ? HttpStatus.CREATED : HttpStatus.OK);
    return toOrderResponse(r.order, r.message);
  }
}
