import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NotesField, OptionalOperatorField, ReasonField } from '../../../common/operator-fields';

export class TripCircuitBreakerDto {
  @OptionalOperatorField('Who trips it')
  operator?: string;

  @ReasonField({ description: 'Why (1-500 characters).', example: 'venue outage', maxLength: 500 })
  reason!: string;
}

export class ResetCircuitBreakerDto {
  @OptionalOperatorField('Who resets it')
  operator?: string;

  @NotesField()
  notes?: string;
}

export class CircuitBreakerHistoryEntryDto {
  @ApiProperty({ enum: ['trip', 'reset'] })
  action!: 'trip' | 'reset';

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty({ description: '`system` for automatic trips.' })
  operator!: string;

  @ApiPropertyOptional({ description: 'Trips only.' })
  reason?: string;

  @ApiPropertyOptional({
    description: 'Trips only: DAILY_LOSS, DRAWDOWN, STALE_MARKET_DATA, BROKER_ERRORS or MANUAL.',
  })
  reason_code?: string;

  @ApiPropertyOptional({ description: 'Resets only, when given.' })
  notes?: string;
}

export class CircuitBreakerStatusDto {
  @ApiProperty({
    enum: ['open', 'tripped'],
    description: '`open` lets orders through; `tripped` refuses new exposure.',
  })
  state!: 'open' | 'tripped';

  @ApiProperty({ description: 'CIRCUIT_BREAKER_ENABLED; when false the breaker never blocks or trips.' })
  enabled!: boolean;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'While tripped.' })
  tripped_at!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'While tripped: the operator, or `system`.' })
  tripped_by!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'While tripped.' })
  reason!: string | null;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'While tripped: DAILY_LOSS, DRAWDOWN, STALE_MARKET_DATA, BROKER_ERRORS or MANUAL.',
  })
  reason_code!: string | null;

  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description: 'While tripped automatically: the figures behind the trip (decimals as strings).',
  })
  details!: Record<string, unknown> | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Last reset, while open.' })
  reset_at!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'Last reset, while open.' })
  reset_by!: string | null;

  @ApiProperty({ type: [CircuitBreakerHistoryEntryDto], description: 'Newest first, at most 50.' })
  history!: CircuitBreakerHistoryEntryDto[];
}
