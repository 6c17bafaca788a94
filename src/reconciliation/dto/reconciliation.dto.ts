import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, Matches } from 'class-validator';
import { NotesField, OptionalOperatorField, ReasonField } from '../../common/operator-fields';

export class ForceCompleteDto {
  @OptionalOperatorField('Who opens the gate')
  operator?: string;

  @ReasonField({
    description: 'Why (1-500 characters).',
    example: 'broker status page reports an outage; books checked by hand',
  })
  reason!: string;
}

export class AcknowledgeFindingDto {
  @OptionalOperatorField('Who acknowledges')
  operator?: string;

  @NotesField()
  notes?: string;
}

export class FillsBackfillDto {
  @ApiPropertyOptional({
    description: 'Executions after this time (ISO-8601). Default: the last pass cursor minus the overlap.',
    example: '2026-01-02T14:30:00Z',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  since?: string;
}

export class FindingIdParamDto {
  @ApiProperty({ description: 'Finding id', example: '42' })
  @Matches(/^[1-9]\d{0,17}$/, { message: 'id must be a positive integer' })
  id!: string;
}

export class FindingDto {
  @ApiProperty({ example: '42' })
  id!: string;

  @ApiProperty({ enum: ['orphan', 'missing_fill', 'position_mismatch', 'status_mismatch'] })
  kind!: string;

  @ApiProperty()
  symbol!: string;

  @ApiPropertyOptional({ nullable: true, type: String })
  broker_order_id?: string | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  client_order_id?: string | null;

  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, description: 'The gateway’s side.' })
  local!: Record<string, unknown> | null;

  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, description: 'The broker’s side.' })
  broker!: Record<string, unknown> | null;

  @ApiProperty({ format: 'date-time' })
  detected_at!: string;

  @ApiProperty({ format: 'date-time' })
  last_seen_at!: string;

  @ApiProperty({ description: 'Runs that found it.' })
  seen_count!: number;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  resolved_at!: string | null;

  @ApiProperty({ nullable: true, enum: ['corrected', 'converged', 'acknowledged', 'superseded'], type: String })
  resolution!: string | null;

  @ApiProperty({ nullable: true, type: String })
  resolved_by!: string | null;

  @ApiProperty({ nullable: true, type: String })
  notes!: string | null;
}

export class BlockedSymbolDto {
  @ApiProperty()
  symbol!: string;

  @ApiProperty({ enum: ['SYMBOL_QUARANTINED'] })
  code!: string;

  @ApiProperty()
  reason!: string;
}

export class ReconciliationStatusDto {
  @ApiProperty({ enum: ['open', 'closed'], description: 'This replica’s startup gate.' })
  gate!: 'open' | 'closed';

  @ApiProperty({ nullable: true, type: String, description: 'Why the gate is closed.' })
  gate_reason!: string | null;

  @ApiProperty({ nullable: true, enum: ['run', 'force'], type: String })
  gate_opened_by!: 'run' | 'force' | null;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'End of the last run; null before the first.',
  })
  last_run_at!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  last_run_started_at!: string | null;

  @ApiProperty({ nullable: true, type: Number })
  last_run_duration_ms!: number | null;

  @ApiProperty({ nullable: true, type: Boolean })
  last_run_ok!: boolean | null;

  @ApiProperty({ nullable: true, type: String })
  last_error!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  last_success_at!: string | null;

  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true })
  last_run_summary!: Record<string, unknown> | null;

  @ApiProperty()
  running!: boolean;

  @ApiProperty({ description: 'A run has been asked for and not started yet.' })
  run_pending!: boolean;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  force_completed_at!: string | null;

  @ApiProperty({ nullable: true, type: String })
  force_completed_by!: string | null;

  @ApiProperty({ description: 'Unresolved findings.' })
  open_mismatches!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    description: 'Unresolved findings by kind.',
  })
  open_by_kind!: Record<string, number>;

  @ApiProperty({
    type: [BlockedSymbolDto],
    description: 'Symbols where new exposure is refused (503 SYMBOL_QUARANTINED).',
  })
  blocked_symbols!: BlockedSymbolDto[];

  @ApiProperty({ type: [FindingDto], description: 'Open findings and those resolved within 24 h, newest first.' })
  findings!: FindingDto[];
}

export class RunRequestedDto {
  @ApiProperty({ example: true })
  requested!: true;

  @ApiProperty({ description: 'The request number; the status shows it served once a run covering it ended.' })
  request!: number;
}
