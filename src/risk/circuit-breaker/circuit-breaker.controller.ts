import { Body, Controller, Get, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ActorContext } from '../../audit/audit-entry';
import { Actor, ApiKeyAuth, RequirePermissions } from '../../auth/auth.decorators';
import { ErrorResponseDto } from '../../common/error-response.dto';
import { CircuitBreakerService, CircuitBreakerStatus } from './circuit-breaker.service';
import { CircuitBreakerStatusDto, ResetCircuitBreakerDto, TripCircuitBreakerDto } from './dto/circuit-breaker.dto';
import { operatorOf } from '../../common/operator-fields';

export function toStatusDto({ enabled, state, history }: CircuitBreakerStatus): CircuitBreakerStatusDto {
  return {
    state: state.tripped ? 'tripped' : 'open',
    enabled,
    tripped_at: state.trippedAt?.toISOString() ?? null,
    tripped_by: state.trippedBy,
    reason: state.reason,
    reason_code: state.reasonCode,
    details: state.details,
    reset_at: state.resetAt?.toISOString() ?? null,
    reset_by: state.resetBy,
    history: history.map((e) => ({
      action: e.action,
      at: e.at.toISOString(),
      operator: e.operator,
      ...(e.reason !== null ? { reason: e.reason } : {}),
      ...(e.reasonCode !== null ? { reason_code: e.reasonCode } : {}),
      ...(e.notes !== null ? { notes: e.notes } : {}),
    })),
  };
}

@ApiTags('risk')
@ApiKeyAuth('MANAGE_RISK')
@Controller('circuit-breaker')
export class CircuitBreakerController {
  constructor(private readonly breaker: CircuitBreakerService) {}

  @Get('status')
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({ summary: 'Circuit-breaker state, trip reason and its history (newest first, at most 50)' })
  @ApiResponse({ status: 200, type: CircuitBreakerStatusDto })
  async status(): Promise<CircuitBreakerStatusDto> {
    return toStatusDto(await this.breaker.status());
  }

  @Post('trip')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({
    summary: 'Trip the circuit breaker by hand',
    description:
      'Every replica refuses orders that add exposure (503 CIRCUIT_BREAKER_TRIPPED) within 1 s, until a manual reset. ' +
      'Idempotent: on a tripped breaker nothing changes or is recorded and the current status is answered.',
  })
  @ApiResponse({ status: 200, type: CircuitBreakerStatusDto })
  @ApiResponse({
    status: 409,
    description: 'CIRCUIT_BREAKER_DISABLED: CIRCUIT_BREAKER_ENABLED=false',
    type: ErrorResponseDto,
  })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async trip(@Body() body: TripCircuitBreakerDto, @Actor() actor: ActorContext): Promise<CircuitBreakerStatusDto> {
    return toStatusDto(
      await this.breaker.trip({ operator: operatorOf(body.operator, actor), reason: body.reason }, actor),
    );
  }

  @Post('reset')
  @HttpCode(HttpStatus.OK)
  @RequirePermissions('MANAGE_RISK')
  @ApiOperation({
    summary: 'Reset the circuit breaker',
    description:
      'The only way out of a trip (automatic or manual); audited with the operator. Idempotent: on an open breaker nothing changes or is recorded (200).',
  })
  @ApiResponse({ status: 200, type: CircuitBreakerStatusDto })
  @ApiResponse({ status: 422, description: 'Invalid input; every bad field is named', type: ErrorResponseDto })
  async reset(@Body() body: ResetCircuitBreakerDto, @Actor() actor: ActorContext): Promise<CircuitBreakerStatusDto> {
    return toStatusDto(
      await this.breaker.reset({ operator: operatorOf(body.operator, actor), notes: body.notes ?? null }, actor),
    );
  }
}
