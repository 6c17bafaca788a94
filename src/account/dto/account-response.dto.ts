import { ApiProperty } from '@nestjs/swagger';

export class AccountResponseDto {
  @ApiProperty({ description: 'cash + long_market_value + short_market_value, decimal string.', example: '100250.5' })
  equity!: string;

  @ApiProperty({ description: 'Decimal string.', example: '85200.5' })
  cash!: string;

  @ApiProperty({ description: "The broker's buying power, decimal string.", example: '170401' })
  buying_power!: string;

  @ApiProperty({
    description: 'Market value of the long positions (≥ 0), decimal string; null when the broker does not report it.',
    type: String,
    nullable: true,
    example: '16550',
  })
  long_market_value!: string | null;

  @ApiProperty({
    description: 'Market value of the short positions (≤ 0), decimal string; null when the broker does not report it.',
    type: String,
    nullable: true,
    example: '-1500',
  })
  short_market_value!: string | null;

  @ApiProperty({ example: 'USD' })
  currency!: string;

  @ApiProperty({ description: 'The broker blocks trading on the account.', example: false })
  trading_blocked!: boolean;

  @ApiProperty({
    format: 'date-time',
    description: 'When the broker was read; answers are cached for 2 s.',
    example: '2026-01-02T15:00:00.000Z',
  })
  as_of!: string;
}
