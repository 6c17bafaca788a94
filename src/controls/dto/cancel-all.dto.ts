/** The body and answer of POST /orders/cancel-all. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { OptionalOperatorField } from '../../common/operator-fields';
import { Identifier, OneOf, TickerSymbol } from '../../common/validators';
import { ORDER_SIDES } from '../../trading/order-status';

export class CancelAllOrdersDto {
  @ApiPropertyOptional({ example: 'AAPL' })
  @IsOptional()
  @TickerSymbol()
  symbol?: string;

  @ApiPropertyOptional({ example: 'alpha_baseline' })
  @IsOptional()
  @Identifier(64)
  strategy_id?: string;

  @ApiPropertyOptional({ enum: ORDER_SIDES, example: 'buy' })
  @IsOptional()
  @OneOf(ORDER_SIDES)
  side?: 'buy' | 'sell';

  @ApiPropertyOptional({
    description: 'Why (1-500 characters); recorded in the audit row.',
    example: 'strategy misbehaving',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason?: string;

  @OptionalOperatorField('Who acts')
  operator?: string;
}

export class CancelFailureDto {
  @ApiProperty({ example: '9467f0b30ecb46c52247b400' }) client_order_id!: string;
  @ApiProperty({ example: 'broker unavailable' }) error!: string;
}

export class CancelAllResponseDto {
  @ApiProperty({ type: 'integer', description: 'Open orders targeted.', example: 2 })
  requested!: number;

  @ApiProperty({
    type: [String],
    description: 'Cancelled, or cancel accepted by the broker (the final `canceled` follows as an update).',
    example: ['9467f0b30ecb46c52247b400', 'b1c2d3e4f5a6b7c8d9e0f1a2'],
  })
  canceled!: string[];

  @ApiProperty({ type: [CancelFailureDto], example: [] })
  failed!: CancelFailureDto[];
}
