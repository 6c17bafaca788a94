/** Bodies of the manual controls: manual orders, position close/adjust/flatten, cancel-all. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength, ValidateBy } from 'class-validator';
import { OptionalOperatorField } from '../../common/operator-fields';
import { Identifier, OneOf, Price, WholeQuantity } from '../../common/validators';
import { OrderResponseDto } from '../../orders/dto/order-response.dto';

const NOT_BLANK = /\S/;

/** `reason` where it may be left out: up to 500 characters, not blank. */
function OptionalReason(example: string): PropertyDecorator {
  return (target, key) => {
    ApiPropertyOptional({ description: 'Why (1-500 characters); recorded in the audit row.', example })(target, key);
    IsOptional()(target, key);
    IsString()(target, key);
    MaxLength(500)(target, key);
    Matches(NOT_BLANK, { message: 'reason must not be blank' })(target, key);
  };
}

const MAX_TARGET = 1_000_000_000;

/** A signed whole number of shares (JSON number or string); becomes an integer string. */
function SignedWholeQuantity(): PropertyDecorator {
  return (target, key) => {
    Transform(({ value }) => {
      const s = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : value;
      return typeof s === 'string' && /^-?\d+(\.0+)?$/.test(s) ? String(BigInt(s.replace(/\.0+$/, ''))) : value;
    })(target, key);
    ValidateBy({
      name: 'signedWholeQuantity',
      validator: {
        validate: (v: unknown) => typeof v === 'string' && /^-?\d+$/.test(v) && Math.abs(Number(v)) <= MAX_TARGET,
        defaultMessage: () => `must be a whole number of shares from -${MAX_TARGET} to ${MAX_TARGET}`,
      },
    })(target, key);
  };
}

class PositionOrderFields {
  @ApiPropertyOptional({ enum: ['market', 'limit'], default: 'market', example: 'market' })
  @IsOptional()
  @OneOf(['market', 'limit'])
  order_type?: 'market' | 'limit';

  @ApiPropertyOptional({ description: 'Required with order_type limit. Decimal string or number.', example: '150.25' })
  @IsOptional()
  @Price()
  limit_price?: string;

  @ApiPropertyOptional({ description: 'Strategy the order is booked to.', default: 'manual', example: 'manual' })
  @IsOptional()
  @Identifier(64)
  strategy_id?: string;

  @ApiPropertyOptional({
    description:
      'Makes a retry safe: the same key (same symbol, same day) answers the order it created (200) instead of a new one.',
    example: 'close-aapl-1',
  })
  @IsOptional()
  @Identifier(64)
  idempotency_key?: string;

  @OptionalReason('risk reduction before the close')
  reason?: string;

  @OptionalOperatorField('Who acts')
  operator?: string;
}

export class ClosePositionDto extends PositionOrderFields {
  @ApiPropertyOptional({
    description:
      'Shares to close; default: the whole position minus what open orders on the closing side already close.',
    example: 50,
  })
  @IsOptional()
  @WholeQuantity()
  qty?: string;
}

export class AdjustPositionDto extends PositionOrderFields {
  @ApiProperty({ description: 'The position wanted, signed (short < 0), whole shares.', example: 60 })
  @SignedWholeQuantity()
  target_qty!: string;
}

export class FlattenAllDto {
  @ApiPropertyOptional({
    description: 'Strategy the closing orders are booked to.',
    default: 'manual',
    example: 'manual',
  })
  @IsOptional()
  @Identifier(64)
  strategy_id?: string;

  @OptionalReason('end of day: flat book')
  reason?: string;

  @OptionalOperatorField('Who acts')
  operator?: string;
}

export class FlattenFailureDto {
  @ApiPropertyOptional({ example: 'TSLA' }) symbol?: string;
  @ApiPropertyOptional({ example: '9467f0b30ecb46c52247b400' }) client_order_id?: string;
  @ApiProperty({ description: 'Reason code, or the error message of a cancel.', example: 'CLOSE_PENDING' })
  error!: string;
  @ApiPropertyOptional({ example: 'Open orders already close 10 of the 10 shares; 0 can still be closed' })
  message?: string;
}

export class FlattenAllResponseDto {
  @ApiProperty({ type: [String], description: 'Open orders cancelled first.', example: ['b1c2d3e4f5a6b7c8d9e0f1a2'] })
  canceled!: string[];

  @ApiProperty({ type: [OrderResponseDto], description: 'One reduce-only market order per non-zero position.' })
  orders!: OrderResponseDto[];

  @ApiProperty({ type: [FlattenFailureDto], example: [] })
  failed!: FlattenFailureDto[];
}
