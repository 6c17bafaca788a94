import { ApiProperty } from '@nestjs/swagger';

export class PositionDto {
  @ApiProperty({ example: 'AAPL' }) symbol!: string;
  @ApiProperty({ description: 'Signed decimal string: negative for a short.', example: '10' }) qty!: string;
  @ApiProperty({ example: '150.25' }) avg_entry_price!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '152.1',
    description: 'The market-data price if no older than FAT_FINGER_MAX_PRICE_AGE_SECONDS; else null.',
  })
  current_price!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '1521',
    description: 'qty × current_price; null without a price.',
  })
  market_value!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '18.5',
    description: 'qty × (current_price − avg_entry_price); null without a price.',
  })
  unrealized_pl!: string | null;
  @ApiProperty({ example: '0' }) realized_pl!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) last_trade_at!: string | null;
}

export class PositionsResponseDto {
  @ApiProperty({ type: [PositionDto], description: 'Open (non-flat) positions.' }) positions!: PositionDto[];
  @ApiProperty() total_positions!: number;
  @ApiProperty({ description: 'Sum over positions with a current price.' }) total_unrealized_pl!: string;
  @ApiProperty({ description: 'Realized P&L of every symbol, flat ones included.' }) total_realized_pl!: string;
}
