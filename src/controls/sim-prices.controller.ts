import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, RequirePermissions } from '../auth/auth.decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import { operatorOf } from '../common/operator-fields';
import { SetSimPriceDto, SimPriceDto, SimPricesDto } from './sim-prices.dto';
import { SimPricesUseCase } from './sim-prices.use-case';

@ApiTags('simulator')
@ApiKeyAuth('MANAGE_RISK')
@Controller('sim/prices')
export class SimPricesController {
  constructor(private readonly prices: SimPricesUseCase) {}

  @Get()
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({
    summary: "The sim exchange's prices and its price walk",
    description: 'Only with BROKER=sim (otherwise 404 SIMULATOR_NOT_ACTIVE). See docs/simulator.md.',
  })
  @ApiResponse({ status: 200, type: SimPricesDto })
  @ApiResponse({ status: 404, description: 'SIMULATOR_NOT_ACTIVE: BROKER is not sim', type: ErrorResponseDto })
  list(): SimPricesDto {
    const p = this.prices.list();
    return {
      walk: {
        enabled: p.walk.enabled,
        seed: p.walk.seed,
        volatility_bps: p.walk.volatilityBps,
        step_ms: p.walk.stepMs,
      },
      default_price: p.defaultPrice,
      prices: p.prices,
    };
  }

  @Put(':symbol')
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({
    summary: "Set a symbol's sim price",
    description:
      "Moves the reference price at once (audited as sim.price_set with the operator, by default the calling key's name); resting limit and stop orders it crosses fill, and the walk continues from it. Only with BROKER=sim (otherwise 404 SIMULATOR_NOT_ACTIVE).",
  })
  @ApiParam({ name: 'symbol', example: 'AAPL' })
  @ApiResponse({ status: 200, type: SimPriceDto })
  @ApiResponse({ status: 404, description: 'SIMULATOR_NOT_ACTIVE: BROKER is not sim', type: ErrorResponseDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async set(
    @Param('symbol') symbol: string,
    @Body() body: SetSimPriceDto,
    @Actor() actor: ActorContext,
  ): Promise<SimPriceDto> {
    return this.prices.set({ symbol, price: body.price, operator: operatorOf(body.operator, actor) }, actor);
  }
}
