import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The one error shape every endpoint answers with. */
export class ErrorResponseDto {
  @ApiProperty({ description: 'Stable machine-readable code', example: 'VALIDATION_FAILED' })
  error!: string;

  @ApiProperty({ example: 'Invalid request: qty must be a whole number of shares from 1 to 1000000000' })
  message!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Structured detail, e.g. `fields: [{field, problems}]` for validation errors',
  })
  details?: Record<string, unknown>;

  @ApiProperty({ type: String, nullable: true, description: 'Echoed in X-Request-Id and in the logs' })
  request_id!: string | null;
}
