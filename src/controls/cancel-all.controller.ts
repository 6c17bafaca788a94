import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ErrorResponseDto } from '../common/error-response.dto';
import { operatorOf } from '../common/operator-fields';
import { CancelAllOrdersDto, CancelAllResponseDto } from './dto/cancel-all.dto';
import { CancelAllOrdersUseCase } from './cancel-all-orders.use-case';

/** POST /orders/cancel-all: an operator's cancel of every open order a filter selects. */
@ApiTags('manual controls')
@ApiKeyAuth('CANCEL_ORDER')
@Controller('orders')
export class CancelAllController {
  constructor(private readonly cancelAll: CancelAllOrdersUseCase) {}

  @Post('cancel-all')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('CANCEL_ORDER')
  @ApiOperation({
    summary: 'Cancel every open order (optionally of one symbol, strategy or side)',
    description:
      "Each order is cancelled as POST /orders/{id}/cancel would (at the broker, or locally when never sent), each cancel audited, plus one audit row for the action. A key limited to some strategies cancels only theirs. Never refused by a safety gate: cancels always pass. `operator` defaults to the calling key's name.",
  })
  @ApiBody({
    type: CancelAllOrdersDto,
    examples: {
      everything: { value: { reason: 'venue incident', operator: 'jane.doe' } },
      oneSymbolBuys: { value: { symbol: 'AAPL', side: 'buy' } },
    },
  })
  @ApiResponse({
    status: 200,
    type: CancelAllResponseDto,
    content: {
      'application/json': {
        example: { requested: 2, canceled: ['9467f0b30ecb46c52247b400', 'b1c2d3e4f5a6b7c8d9e0f1a2'], failed: [] },
      },
    },
  })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async execute(
    @Body() body: CancelAllOrdersDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
  ): Promise<CancelAllResponseDto> {
    const report = await this.cancelAll.run(
      { symbol: body.symbol, strategyId: body.strategy_id, side: body.side },
      principal,
      { operator: operatorOf(body.operator, actor), reason: body.reason ?? null },
      actor,
    );
    return {
      requested: report.found,
      canceled: [...report.canceledIds, ...report.pendingIds],
      failed: report.failed,
    };
  }
}
