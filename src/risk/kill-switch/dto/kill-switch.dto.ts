import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsObject, IsOptional } from 'class-validator';
import { NotesField, OperatorField, ReasonField } from '../../../common/operator-fields';

export class EngageKillSwitchDto {
  @ReasonField({
    description: 'Why the switch is engaged (1-500 characters).',
    example: 'runaway strategy',
    maxLength: 500,
  })
  reason!: string;

  @OperatorField('Who engages it')
  operator!: string;

  @ApiPropertyOptional({
    description: 'Free-form JSON object kept with the engagement.',
    type: 'object',
    additionalProperties: true,
  })
  @IsOptional()
  @IsObject()
  details?: Record<string, unknown>;

  @ApiPropertyOptional({
    description:
      'Also cancel every open order the gateway sent (at the broker, or locally when never sent), once at once and once more 2 s later. Default: KILL_SWITCH_CANCEL_ON_ENGAGE (false). Orders the gateway never sent are not touched.',
    type: Boolean,
  })
  @IsOptional()
  @IsBoolean()
  cancel_open_orders?: boolean;
}

export class DisengageKillSwitchDto {
  @OperatorField('Who releases it')
  operator!: string;

  @NotesField()
  notes?: string;
}

export class KillSwitchHistoryEntryDto {
  @ApiProperty({ enum: ['engage', 'disengage'] })
  action!: 'engage' | 'disengage';

  @ApiProperty({ format: 'date-time' })
  at!: string;

  @ApiProperty()
  operator!: string;

  @ApiPropertyOptional({ description: 'Engagements only.' })
  reason?: string;

  @ApiPropertyOptional({ description: 'Releases only, when given.' })
  notes?: string;
}

export class KillSwitchStatusDto {
  @ApiProperty()
  engaged!: boolean;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'While engaged.' })
  engaged_at!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'While engaged.' })
  engaged_by!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'While engaged.' })
  reason!: string | null;

  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description: 'While engaged, when given.',
  })
  details!: Record<string, unknown> | null;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'Engage with cancel_open_orders only: {found, canceled, pending, failed: [{client_order_id, error}]} of the first sweep.',
  })
  cancel_all?: Record<string, unknown>;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Last release, while released.' })
  disengaged_at!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'Last release, while released.' })
  disengaged_by!: string | null;

  @ApiProperty({ type: [KillSwitchHistoryEntryDto], description: 'Newest first, at most 50.' })
  history!: KillSwitchHistoryEntryDto[];
}
