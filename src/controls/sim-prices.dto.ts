import { ApiProperty } from '@nestjs/swagger';
import { OptionalOperatorField } from '../common/operator-fields';
import { Price } from '../common/validators';

export class SetSimPriceDto {
  @ApiProperty({
    description: 'The new reference (last trade) price: a positive decimal, JSON number or string.',
    example: '187.25',
  })
  @Price()
  price!: string;

  @OptionalOperatorField('Who sets it')
  operator?: string;
}

export class SimPriceDto {
  @ApiProperty({ example: 'AAPL' })
  symbol!: string;

  @ApiProperty({ description: 'Current reference price (decimal string).', example: '190.57' })
  price!: string;

  @ApiProperty({ description: 'Steps the walk has taken for this symbol.', example: 42 })
  step!: number;
}

export class SimPriceWalkDto {
  @ApiProperty({ description: 'False when SIM_PRICE_VOLATILITY_BPS is 0: prices move only when set.' })
  enabled!: boolean;

  @ApiProperty({ description: 'SIM_PRICE_SEED.', example: 'sim' })
  seed!: string;

  @ApiProperty({ description: 'SIM_PRICE_VOLATILITY_BPS: per-step σ in basis points.', example: '5' })
  volatility_bps!: string;

  @ApiProperty({ description: 'SIM_PRICE_STEP_MS.', example: 1000 })
  step_ms!: number;
}

export class SimPricesDto {
  @ApiProperty({ type: SimPriceWalkDto })
  walk!: SimPriceWalkDto;

  @ApiProperty({
    description: 'Default price of a symbol the sim has not priced yet.',
    example: '100',
  })
  default_price!: string;

  @ApiProperty({
    type: [SimPriceDto],
    description: 'Every symbol the sim has priced (configured, set, walked or looked up), by symbol.',
    example: [
      { symbol: 'AAPL', price: '190.57', step: 42 },
      { symbol: 'MSFT', price: '409.88', step: 42 },
    ],
  })
  prices!: SimPriceDto[];
}
