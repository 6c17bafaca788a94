import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Allow } from 'class-validator';
import { FieldProblem } from '../../../common/domain-error';
import { OptionalOperatorField } from '../../../common/operator-fields';
import { CrossFieldRules } from '../../../common/validation.pipe';
import { parseThresholdsUpdate } from '../fat-finger-thresholds';

export class FatFingerLimitsDto {
  @ApiProperty({ description: 'Largest order notional (qty × price), decimal string.', example: '100000' })
  max_notional!: string;

  @ApiProperty({ description: 'Largest order quantity, decimal string.', example: '10000' })
  max_qty!: string;

  @ApiProperty({ description: 'Largest order as a fraction of average daily volume, in (0, 1].', example: '0.05' })
  max_adv_pct!: string;

  @ApiProperty({ description: 'Oldest market price accepted for a market order, seconds (1-86400).', example: 30 })
  max_price_age_seconds!: number;
}

export class FatFingerOverrideDto {
  @ApiPropertyOptional({ example: '50000' })
  max_notional?: string;

  @ApiPropertyOptional({ example: '500' })
  max_qty?: string;

  @ApiPropertyOptional({ example: '0.02' })
  max_adv_pct?: string;
}

export class FatFingerThresholdsDto {
  @ApiProperty({ type: FatFingerLimitsDto, description: 'Global defaults.' })
  defaults!: FatFingerLimitsDto;

  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/FatFingerOverrideDto' },
    description: 'Per-symbol overrides, by symbol; a field not given falls back to the default.',
    example: { AAPL: { max_qty: '500' } },
  })
  symbol_overrides!: Record<string, FatFingerOverrideDto>;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'Last change; null before any.' })
  updated_at!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'Operator of the last change; null before any.' })
  updated_by!: string | null;
}

/**
 * A change: any subset of the defaults and of the overrides. The overrides are
 * keyed by symbol, so their fields are checked by the pure parser (reported
 * with the other fields, each by its path).
 */
export class UpdateFatFingerThresholdsDto implements CrossFieldRules {
  @OptionalOperatorField('Who makes the change')
  operator?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'Defaults to set: max_notional, max_qty (positive decimals), max_adv_pct (0 < x ≤ 1), max_price_age_seconds (1-86400). Numbers or decimal strings.',
    example: { max_qty: '5000' },
  })
  @Allow()
  defaults?: unknown;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      "Overrides by symbol (trimmed, upper-cased): fields given replace the override's, a field set to null falls back to the default, and a symbol set to null removes its override.",
    example: { AAPL: { max_notional: '50000' }, TSLA: null },
  })
  @Allow()
  symbol_overrides?: unknown;

  crossFieldProblems(): FieldProblem[] {
    return parseThresholdsUpdate({ defaults: this.defaults, symbol_overrides: this.symbol_overrides }).problems;
  }
}
