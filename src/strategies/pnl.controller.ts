import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ErrorResponseDto } from '../common/error-response.dto';
import { PerformanceResponseDto, PnlResponseDto } from './dto/strategies.dto';
import { PerformanceQuery } from './performance.query';
import { StrategiesQuery } from './strategies.query';

@ApiTags('positions')
@ApiKeyAuth('VIEW_PNL')
@Controller()
export class PnlController {
  constructor(
    private readonly strategies: StrategiesQuery,
    private readonly performance: PerformanceQuery,
  ) {}

  @Get('positions/pnl/realtime')
  @RequirePermissions('VIEW_PNL')
  @ApiOperation({
    summary: 'Positions marked to market with P&L: the account, or one strategy’s own book',
    description:
      'A key limited to some strategies sees the sum of their books. Without strategy_id, for a key that sees every strategy, `unattributed` carries what no strategy’s book holds.',
  })
  @ApiQuery({ name: 'strategy_id', required: false, example: 'alpha_baseline' })
  @ApiQuery({ name: 'symbol', required: false, example: 'AAPL' })
  @ApiResponse({ status: 200, type: PnlResponseDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async pnl(
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
    @Query('strategy_id') strategyId?: string,
    @Query('symbol') symbol?: string,
  ): Promise<void> {
    // Serialized once per answer and shared by the reads that get the same one (PnlResponseDto).
    const json = await this.strategies.pnlJson(principal, { strategy_id: strategyId, symbol });
    res.type('application/json').send(json);
  }

  @Get('performance/daily')
  @RequirePermissions('VIEW_PNL')
  @ApiOperation({
    summary: 'Per day and strategy: realized P&L, fills, buy/sell notional, orders, rejections',
    description:
      'Dates YYYY-MM-DD (UTC days, both included; default: the last 7 days), range at most MAX_PERFORMANCE_DAYS. Answers are cached for PERFORMANCE_CACHE_TTL seconds. 404 FEATURE_DISABLED when FEATURE_PERFORMANCE_DASHBOARD=false.',
  })
  @ApiQuery({ name: 'strategy_id', required: false, example: 'alpha_baseline' })
  @ApiQuery({ name: 'start', required: false, example: '2025-12-30' })
  @ApiQuery({ name: 'end', required: false, example: '2026-01-05' })
  @ApiResponse({ status: 200, type: PerformanceResponseDto })
  @ApiResponse({ status: 404, description: 'FEATURE_DISABLED', type: ErrorResponseDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  daily(
    @CurrentPrincipal() principal: Principal,
    @Query('strategy_id') strategyId?: string,
    @Query('start') start?: string,
    @Query('end') end?: string,
  ): Promise<PerformanceResponseDto> {
    return this.performance.daily(principal, { strategy_id: strategyId, start, end });
  }
}
