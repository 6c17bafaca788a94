import { Body, Controller, Delete, Get, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { ErrorResponseDto } from '../common/error-response.dto';
import { logFields } from '../infra/http/request-observer.middleware';
import { RateLimit } from '../risk/rate-limit/rate-limit.guard';
import { PlanView } from './domain/plan-view';
import { CancelPlanResponseDto, ParentOrderIdParamDto, SlicingPlanDto, SlicingRequestDto } from './dto/twap.dto';
import { SlicingCommand } from './slicing-command';
import { TwapDispatcher } from './twap-dispatcher.service';
import { CreatePlanUseCase } from './use-cases/create-plan.use-case';
import { CancelPlanResult, PlanQueriesUseCase } from './use-cases/plan-queries.use-case';

/** TWAP plans (docs/twap.md): POST /orders/slice, GET and DELETE /orders/{parent_id}/slices. */
@ApiTags('twap')
@ApiKeyAuth()
@Controller('orders')
export class TwapController {
  constructor(
    private readonly createPlan: CreatePlanUseCase,
    private readonly queries: PlanQueriesUseCase,
    private readonly dispatcher: TwapDispatcher,
  ) {}

  @Post('slice')
  @RequirePermissions('SUBMIT_ORDER')
  @RateLimit('slice')
  @ApiBody({ type: SlicingRequestDto })
  @ApiOperation({
    summary: 'Start a TWAP plan',
    description:
      'Splits qty into ceil(duration_minutes × 60 / interval_seconds) slices sent every interval_seconds through the normal order flow (slice 0 at once). The whole plan passes the pre-trade checks now; each slice again when sent. The same request on the same trade date answers 200 with the existing plan.',
  })
  @ApiResponse({ status: 201, type: SlicingPlanDto, description: 'Plan accepted' })
  @ApiResponse({ status: 200, type: SlicingPlanDto, description: 'The same plan already existed (idempotent replay)' })
  @ApiResponse({ status: 403, type: ErrorResponseDto, description: 'Key lacks SUBMIT_ORDER or the strategy' })
  @ApiResponse({
    status: 422,
    type: ErrorResponseDto,
    description:
      'Invalid field (named), a pre-trade refusal (FAT_FINGER_*, MAX_POSITION_*, ...), SLICE_EXCEEDS_ADV_PCT (details: max_slice_qty, max_interval_seconds, min_duration_minutes) or ADV_UNAVAILABLE',
  })
  @ApiResponse({ status: 429, type: ErrorResponseDto, description: 'RATE_LIMITED: slice budget spent (Retry-After)' })
  @ApiResponse({
    status: 503,
    type: ErrorResponseDto,
    description: 'KILL_SWITCH_ENGAGED, CIRCUIT_BREAKER_TRIPPED, ...',
  })
  async create(
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
    @Res({ passthrough: true }) res: Response,
  ): Promise<PlanView> {
    const { plan, created } = await this.createPlan.execute(SlicingCommand.create(body), principal, actor);
    logFields(res).clientOrderId = plan.parentOrderId;
    const view = await this.queries.view(plan.parentOrderId, principal);
    res.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    // Slice 0 is due now: look for it at once rather than at the next pass.
    if (created) this.dispatcher.poke();
    return view;
  }

  @Get(':parent_id/slices')
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({ summary: 'A TWAP plan with its live progress' })
  @ApiResponse({ status: 200, type: SlicingPlanDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: "Unknown, or outside the key's strategies" })
  async get(@Param() p: ParentOrderIdParamDto, @CurrentPrincipal() principal: Principal): Promise<PlanView> {
    return this.queries.view(p.parent_id, principal);
  }

  @Delete(':parent_id/slices')
  @RequirePermissions('CANCEL_ORDER')
  @RateLimit('cancel')
  @ApiOperation({
    summary: 'Cancel a TWAP plan',
    description:
      'Stops the unsent slices (status canceled) and cancels the open child orders. Idempotent: a repeat answers the same totals.',
  })
  @ApiResponse({ status: 200, type: CancelPlanResponseDto })
  @ApiResponse({ status: 404, type: ErrorResponseDto, description: "Unknown, or outside the key's strategies" })
  async cancel(
    @Param() p: ParentOrderIdParamDto,
    @CurrentPrincipal() principal: Principal,
    @Actor() actor: ActorContext,
  ): Promise<CancelPlanResult> {
    return this.queries.cancel(p.parent_id, principal, actor);
  }
}
