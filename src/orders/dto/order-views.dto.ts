/** The manual-control views of orders: open orders, recent fills, an order's fills and audit rows. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { Identifier, IntegerParam, TickerSymbol } from '../../common/validators';
import { ORDER_SIDES } from '../../trading/order-status';
import { OrderDetailDto, OrderLegDto } from './order-response.dto';

export class PendingOrdersQueryDto {
  @ApiPropertyOptional({ example: 'AAPL' })
  @IsOptional()
  @TickerSymbol()
  symbol?: string;

  @ApiPropertyOptional({ example: 'alpha_baseline' })
  @IsOptional()
  @Identifier(64)
  strategy_id?: string;

  @ApiPropertyOptional({
    description: "A TWAP plan's parent_order_id: its open children.",
    example: '0f3c9a1e2b4d5f6a7b8c9d0e',
  })
  @IsOptional()
  @Identifier(48)
  parent_order_id?: string;
}

export class RecentFillsQueryDto {
  @ApiPropertyOptional({ example: 'AAPL' })
  @IsOptional()
  @TickerSymbol()
  symbol?: string;

  @ApiPropertyOptional({ example: 'alpha_baseline' })
  @IsOptional()
  @Identifier(64)
  strategy_id?: string;

  @ApiPropertyOptional({ description: 'How many fills, 1-500.', default: 50, example: 50 })
  @IsOptional()
  @IntegerParam(1, 500)
  limit: number = 50;
}

export class PendingOrdersResponseDto {
  @ApiProperty({ type: [OrderDetailDto], description: 'Every order not yet ended, oldest first.' })
  orders!: OrderDetailDto[];

  @ApiProperty({ type: 'integer', example: 1 })
  total!: number;
}

export class FillDto {
  @ApiProperty({ example: '9467f0b30ecb46c52247b400' }) client_order_id!: string;
  @ApiProperty({ type: String, nullable: true, example: 'b0b6dd9d-8b9b-48a9-ba46-b9d54906e415' })
  broker_order_id!: string | null;
  @ApiProperty({ example: 'a7e9c3a0-5b8e-4f59-9d5c-2f0c2f6a1e11' }) execution_id!: string;
  @ApiProperty({ example: 'alpha_baseline' }) strategy_id!: string;
  @ApiProperty({ example: 'AAPL' }) symbol!: string;
  @ApiProperty({ enum: ORDER_SIDES, example: 'buy' }) side!: string;
  @ApiProperty({ description: 'Decimal string.', example: '10' }) qty!: string;
  @ApiProperty({ description: 'Decimal string.', example: '150.25' }) price!: string;
  @ApiProperty({ format: 'date-time', example: '2026-01-02T15:04:05.123Z' }) executed_at!: string;
}

export class RecentFillsResponseDto {
  @ApiProperty({ type: [FillDto], description: 'Newest first.' })
  fills!: FillDto[];

  @ApiProperty({
    type: 'integer',
    description: 'Fills matching the filters (all of them, not only this page).',
    example: 1,
  })
  total!: number;
}

export class OrderWithFillsDto extends OrderDetailDto {
  @ApiProperty({ type: [FillDto], description: "The order's fills, in execution order." })
  fills!: FillDto[];

  @ApiPropertyOptional({
    type: [OrderLegDto],
    description: 'An order with legs (bracket, oto, oco): its legs, each also readable by its own id.',
  })
  legs?: OrderLegDto[];
}

export class OrderAuditEntryDto {
  @ApiProperty({ example: '42' }) id!: string;
  @ApiProperty({ format: 'date-time', example: '2026-01-02T15:04:05.123Z' }) occurred_at!: string;
  @ApiProperty({ example: 'order.accepted' }) action!: string;
  @ApiProperty({ description: 'API key name, operator, or the gateway itself.', example: 'desk-key' }) actor!: string;
  @ApiProperty({ type: String, nullable: true, example: null }) reason_code!: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'req-1' }) request_id!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, example: { status: 'pending_new', qty: '10' } })
  details!: Record<string, unknown>;
}

export class OrderAuditResponseDto {
  @ApiProperty({ example: '9467f0b30ecb46c52247b400' }) client_order_id!: string;
  @ApiProperty({ type: [OrderAuditEntryDto], description: 'Oldest first.' })
  entries!: OrderAuditEntryDto[];
}
