import { Body, Controller, HttpStatus, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ErrorResponseDto } from '../common/error-response.dto';
import { logFields } from '../infra/http/request-observer.middleware';
import { OrderRequestDto } from '../order-entry/order-request.dto';
import { OrderResponseDto } from '../orders/dto/order-response.dto';
import { toOrderResponse } from '../orders/order.mapper';
import { RateLimit } from '../risk/rate-limit/rate-limit.guard';
import { ManualOrderUseCase, parseManualOrder } from './manual-order.use-case';

/** For the API description only: the body is checked by parseManualOrder (OrderCommand's rules plus these). */
export class ManualOrderRequestDto extends OrderRequestDto {
  @ApiProperty({
    description: 'Why (1-500 characters); recorded in the order metadata and audit.',
    example: 'hedge after fill error',
  })
  reason!: string;

  @ApiPropertyOptional({
    description: "Who (1-200 characters). Default: the calling API key's name.",
    example: 'jane.doe',
  })
  operator?: string;
}

@ApiTags('manual controls')
@ApiKeyAuth('SUBMIT_ORDER')
@Controller('manual')
export class ManualOrdersController {
  constructor(private readonly manualOrder: ManualOrderUseCase) {}

  @Post('orders')
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('submit')
  @ApiOperation({
    summary: "An operator's order",
    description:
      'POST /orders with `reason` (required) and `operator`; the order metadata records {source: "manual", reason, operator}. Same id rules and pre-trade checks. A repeat of an existing order is 409 DUPLICATE_ORDER with that order in details.order.',
  })
  @ApiBody({
    type: ManualOrderRequestDto,
    examples: {
      market: {
        value: { symbol: 'AAPL', side: 'sell', qty: 10, reason: 'hedge after fill error', operator: 'jane.doe' },
      },
    },
  })
  @ApiResponse({ status: 201, type: OrderResponseDto, description: 'Order created' })
  @ApiResponse({ status: 202, type: OrderResponseDto, description: 'Recorded, broker outcome not known yet' })
  @ApiResponse({ status: 403, type: ErrorResponseDto, description: 'Key lacks SUBMIT_ORDER or the strategy' })
  @ApiResponse({
    status: 409,
    type: ErrorResponseDto,
    description: 'DUPLICATE_ORDER (details.order is the existing order) or CLIENT_ORDER_ID_CONFLICT',
    content: {
      'application/json': {
        example: {
          error: 'DUPLICATE_ORDER',
          message: 'This manual order already exists (client_order_id 9467f0b30ecb46c52247b400)',
          details: {
            client_order_id: '9467f0b30ecb46c52247b400',
            order: { client_order_id: '9467f0b30ecb46c52247b400', status: 'new' },
          },
          request_id: 'req-1',
        },
      },
    },
  })
  @ApiResponse({
    status: 422,
    type: ErrorResponseDto,
    description: 'Invalid input (reason missing...) or a risk limit',
  })
  @ApiResponse({ status: 503, type: ErrorResponseDto, description: 'A safety gate (KILL_SWITCH_ENGAGED...)' })
  async submit(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OrderResponseDto> {
    const result = await this.manualOrder.execute(parseManualOrder(body), principal, actor);
    logFields(res).clientOrderId = result.order.clientOrderId;
    res.status(result.pending ? HttpStatus.ACCEPTED : HttpStatus.CREATED);
    return toOrderResponse(result.order, result.message);
  }
}
