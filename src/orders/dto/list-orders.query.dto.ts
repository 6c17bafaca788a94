import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, ValidateBy } from 'class-validator';
import { Identifier, IntegerParam, TickerSymbol, Timestamp } from '../../common/validators';
import { ORDER_STATUSES, OrderStatus } from '../../trading/order-status';

export class ListOrdersQueryDto {
  @ApiPropertyOptional({
    description: `Comma-separated statuses to include (${ORDER_STATUSES.join(', ')}).`,
    example: 'dry_run,new',
  })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value))
  @ValidateBy({
    name: 'statusList',
    validator: {
      validate: (v: unknown) =>
        Array.isArray(v) && v.length > 0 && v.every((s) => (ORDER_STATUSES as readonly string[]).includes(s)),
      defaultMessage: () => `must be a comma-separated list of: ${ORDER_STATUSES.join(', ')}`,
    },
  })
  status?: OrderStatus[];

  @ApiPropertyOptional({ example: 'AAPL' })
  @IsOptional()
  @TickerSymbol()
  symbol?: string;

  @ApiPropertyOptional({ example: 'alpha_baseline' })
  @IsOptional()
  @Identifier(64)
  strategy_id?: string;

  @ApiPropertyOptional({ description: 'Only orders created at or after this instant (ISO 8601).' })
  @IsOptional()
  @Timestamp()
  created_after?: string;

  @ApiPropertyOptional({ description: 'Only orders created before this instant (ISO 8601).' })
  @IsOptional()
  @Timestamp()
  created_before?: string;

  @ApiPropertyOptional({ description: 'Page size, 1-500.', default: 50 })
  @IsOptional()
  @IntegerParam(1, 500)
  limit: number = 50;

  @ApiPropertyOptional({ description: "Opaque cursor from a previous page's next_cursor." })
  @IsOptional()
  @ValidateBy({
    name: 'cursor',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(v),
      defaultMessage: () => 'is not a valid cursor',
    },
  })
  cursor?: string;
}
