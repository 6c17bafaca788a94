import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ForbiddenError, InputValidationError } from '../common/domain-error';
import { ErrorResponseDto } from '../common/error-response.dto';
import { operatorOf } from '../common/operator-fields';
import { HeartbeatDto, SetStrategyStateDto, StrategiesResponseDto, StrategyDto } from './dto/strategies.dto';
import { isStrategyId, StrategiesQuery } from './strategies.query';
import { StrategyStateService } from './strategy-state.service';

const ID_PARAM = { name: 'id', example: 'alpha_baseline', description: '1-64 characters of A-Z a-z 0-9 _ . : -' };

function strategyId(raw: string): string {
  if (!isStrategyId(raw)) throw InputValidationError.field('id', 'must be 1-64 characters of A-Z a-z 0-9 _ . : -');
  return raw;
}

@ApiTags('strategies')
@ApiKeyAuth()
@Controller('strategies')
export class StrategiesController {
  constructor(
    private readonly query: StrategiesQuery,
    private readonly states: StrategyStateService,
  ) {}

  @Get()
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({ summary: "The strategies the key may see: state, activity, positions, today's P&L, heartbeat" })
  @ApiResponse({ status: 200, type: StrategiesResponseDto })
  async list(@CurrentPrincipal() principal: Principal): Promise<StrategiesResponseDto> {
    return { strategies: await this.query.list(principal) };
  }

  @Get(':id')
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({ summary: 'One strategy (it exists once it has an order or a state)' })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, type: StrategyDto })
  @ApiResponse({ status: 404, description: 'STRATEGY_NOT_FOUND', type: ErrorResponseDto })
  async get(@Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<StrategyDto> {
    return this.query.get(strategyId(id), principal);
  }

  @Put(':id/state')
  @RequirePermissions('MANAGE_STRATEGIES')
  @ApiOperation({
    summary: "Set a strategy's trading state",
    description:
      'halted refuses its new orders (503 STRATEGY_HALTED; a due TWAP slice is written as an order in status blocked_strategy_halted, never sent, its quantity carried), reducing lets only reduce-only ones through (503 STRATEGY_REDUCING; a slice that adds exposure is refused); cancels always pass. Durable, audited, on every replica within 1 s. Setting the state it has changes nothing.',
  })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, type: StrategyDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async setState(
    @Param('id') id: string,
    @Body() body: SetStrategyStateDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
  ): Promise<StrategyDto> {
    const sid = strategyId(id);
    await this.states.setState(
      sid,
      { state: body.state, reason: body.reason ?? null, operator: operatorOf(body.operator, actor) },
      actor,
    );
    return this.query.get(sid, principal);
  }

  @Post(':id/heartbeat')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('SUBMIT_ORDER')
  @ApiOperation({
    summary: "Arm or re-arm the strategy's dead-man switch",
    description:
      'Unless another heartbeat comes within timeout_seconds (5-3600), the gateway cancels the strategy’s open orders and halts it (reason HEARTBEAT_EXPIRED). The key must be allowed to trade the strategy.',
  })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, type: StrategyDto })
  @ApiResponse({ status: 422, description: 'timeout_seconds out of range', type: ErrorResponseDto })
  async heartbeat(
    @Param('id') id: string,
    @Body() body: HeartbeatDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
  ): Promise<StrategyDto> {
    const sid = allowed(strategyId(id), principal);
    await this.states.heartbeat(sid, body.timeout_seconds, actor);
    return this.query.get(sid, principal);
  }

  @Delete(':id/heartbeat')
  @RequirePermissions('SUBMIT_ORDER')
  @ApiOperation({ summary: "Disarm the strategy's dead-man switch" })
  @ApiParam(ID_PARAM)
  @ApiResponse({ status: 200, type: StrategyDto })
  async disarm(
    @Param('id') id: string,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
  ): Promise<StrategyDto> {
    const sid = allowed(strategyId(id), principal);
    await this.states.disarm(sid, actor);
    return this.query.get(sid, principal);
  }
}

function allowed(strategyId: string, principal: Principal): string {
  if (!principal.canAccessStrategy(strategyId)) {
    throw new ForbiddenError('STRATEGY_FORBIDDEN', `This API key may not act for strategy "${strategyId}"`);
  }
  return strategyId;
}
