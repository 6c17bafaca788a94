import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActorContext } from '../audit/audit-entry';
import { Actor, ApiKeyAuth, RequirePermissions } from '../auth/auth.decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  DisengageKillSwitchDto,
  EngageKillSwitchDto,
  KillSwitchStatusDto,
} from '../risk/kill-switch/dto/kill-switch.dto';
import { KillSwitchService, KillSwitchStatus } from '../risk/kill-switch/kill-switch.service';
import { CancelAllOutcome, EngageKillSwitchUseCase } from './engage-kill-switch.use-case';

export function toStatusDto({
  state,
  history,
  cancelAll,
}: KillSwitchStatus & { cancelAll?: CancelAllOutcome }): KillSwitchStatusDto {
  return {
    ...(cancelAll ? { cancel_all: { ...cancelAll } } : {}),
    engaged: state.engaged,
    engaged_at: state.engagedAt?.toISOString() ?? null,
    engaged_by: state.engagedBy,
    reason: state.reason,
    details: state.details,
    disengaged_at: state.disengagedAt?.toISOString() ?? null,
    disengaged_by: state.disengagedBy,
    history: history.map((e) => ({
      action: e.action,
      at: e.at.toISOString(),
      operator: e.operator,
      ...(e.reason !== null ? { reason: e.reason } : {}),
      ...(e.notes !== null ? { notes: e.notes } : {}),
    })),
  };
}

@ApiTags('risk')
@ApiKeyAuth('MANAGE_RISK')
@Controller('kill-switch')
export class KillSwitchController {
  constructor(
    private readonly killSwitch: KillSwitchService,
    private readonly engageKillSwitch: EngageKillSwitchUseCase,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post('engage')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({
    summary: 'Engage the kill switch',
    description:
      'Every replica refuses new orders (503 KILL_SWITCH_ENGAGED) within 1 s; cancels still pass. With cancel_open_orders, every open order is cancelled too (the answer carries cancel_all). Idempotent: on an engaged switch nothing changes or is recorded and the current status is answered.',
  })
  @ApiResponse({ status: 200, type: KillSwitchStatusDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async engage(@Body() body: EngageKillSwitchDto, @Actor() actor: ActorContext): Promise<KillSwitchStatusDto> {
    return toStatusDto(
      await this.engageKillSwitch.execute(
        {
          operator: body.operator,
          reason: body.reason,
          details: body.details ?? null,
          cancelOpenOrders: body.cancel_open_orders ?? this.config.killSwitchCancelOnEngage,
        },
        actor,
      ),
    );
  }

  @Post('disengage')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({
    summary: 'Release the kill switch',
    description:
      'Idempotent: on a released switch nothing changes or is recorded and the current status is answered (200).',
  })
  @ApiResponse({ status: 200, type: KillSwitchStatusDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async disengage(@Body() body: DisengageKillSwitchDto, @Actor() actor: ActorContext): Promise<KillSwitchStatusDto> {
    return toStatusDto(await this.killSwitch.disengage({ operator: body.operator, notes: body.notes ?? null }, actor));
  }

  @Get('status')
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({ summary: 'Kill-switch state and its history (newest first, at most 50)' })
  @ApiResponse({ status: 200, type: KillSwitchStatusDto })
  async status(): Promise<KillSwitchStatusDto> {
    return toStatusDto(await this.killSwitch.status());
  }
}
