import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { FieldProblem } from '../../common/domain-error';
import { CrossFieldRules } from '../../common/validation.pipe';
import { Identifier, OneOf, Price, TickerSymbol, WholeQuantity } from '../../common/validators';
import { ORDER_SIDES, ORDER_TYPES, OrderSide, OrderType, TIME_IN_FORCE, TimeInForce } from '../../trading/order-status';
import { orderTermProblems } from '../../trading/order';

export class OrderRequestDto implements CrossFieldRules {
  @ApiProperty({
    description: 'Ticker; trimmed and upper-cased. 1-10 characters of A-Z, 0-9, "." or "/".',
    example: 'AAPL',
  })
  @TickerSymbol()
  symbol!: string;

  @ApiProperty({ enum: ORDER_SIDES, example: 'buy' })
  @OneOf(ORDER_SIDES)
  side!: OrderSide;

  @ApiProperty({
    description: 'Whole shares (> 0), as a JSON number or a string: 10, "10" and 10.0 are the same order.',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
    example: 10,
  })
  @WholeQuantity()
  qty!: string;

  @ApiPropertyOptional({ enum: ORDER_TYPES, default: 'market' })
  @IsOptional()
  @OneOf(ORDER_TYPES)
  order_type: OrderType = 'market';

  @ApiPropertyOptional({
    description: 'Required for limit and stop_limit orders; forbidden otherwise. JSON number or decimal string.',
    oneOf: [{ type: 'number' }, { type: 'string' }],
    example: '150.25',
    nullable: true,
  })
  @IsOptional()
  @Price()
  limit_price?: string | null;

  @ApiPropertyOptional({
    description: 'Required for stop and stop_limit orders; forbidden otherwise. JSON number or decimal string.',
    oneOf: [{ type: 'number' }, { type: 'string' }],
    nullable: true,
  })
  @IsOptional()
  @Price()
  stop_price?: string | null;

  @ApiPropertyOptional({ enum: TIME_IN_FORCE, default: 'day' })
  @IsOptional()
  @OneOf(TIME_IN_FORCE)
  time_in_force: TimeInForce = 'day';

  @ApiPropertyOptional({
    description:
      'Your own id (1-48 characters of letters, digits, "_", ".", ":", "-"). When absent the gateway derives one from the order terms and the UTC trade date, so the same order on the same day is the same order.',
    maxLength: 48,
  })
  @IsOptional()
  @Identifier(48)
  client_order_id?: string;

  @ApiPropertyOptional({
    description:
      'Folded into the derived client_order_id, for a caller that legitimately wants two identical orders on one day. Ignored when client_order_id is given.',
    maxLength: 64,
  })
  @IsOptional()
  @Identifier(64)
  idempotency_key?: string;

  @ApiPropertyOptional({
    description: "Strategy the order belongs to; defaults to the gateway's STRATEGY_ID.",
    maxLength: 64,
    example: 'alpha_baseline',
  })
  @IsOptional()
  @Identifier(64)
  strategy_id?: string;

  /** Which prices the order type needs and forbids; skipped while order_type itself is invalid. */
  crossFieldProblems(): FieldProblem[] {
    if (!(ORDER_TYPES as readonly string[]).includes(this.order_type)) return [];
    return orderTermProblems({
      orderType: this.order_type,
      limitPrice: this.limit_price ?? null,
      stopPrice: this.stop_price ?? null,
    });
  }
}
