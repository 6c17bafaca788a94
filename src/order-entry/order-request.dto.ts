import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ORDER_SIDES, ORDER_TYPES, OrderSide, OrderType, TIME_IN_FORCE, TimeInForce } from '../trading/order-status';

/**
 * The body of POST /orders, for the API description. The body itself is
 * checked by OrderCommand.create (the same rules for every entry point);
 * these declarations only document it.
 */
export class OrderRequestDto {
  @ApiProperty({
    description: 'Ticker; trimmed and upper-cased. 1-10 characters of A-Z, 0-9, "." or "/".',
    example: 'AAPL',
  })
  symbol!: string;

  @ApiProperty({ enum: ORDER_SIDES, example: 'buy' })
  side!: OrderSide;

  @ApiProperty({
    description: 'Whole shares (> 0), as a JSON number or a string: 10, "10" and 10.0 are the same order.',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
    example: 10,
  })
  qty!: string;

  @ApiPropertyOptional({ enum: ORDER_TYPES, default: 'market' })
  order_type?: OrderType;

  @ApiPropertyOptional({
    enum: ORDER_TYPES,
    description: 'Alias of order_type, for clients that send `type`; both given and different is a 422.',
  })
  type?: OrderType;

  @ApiPropertyOptional({
    description: 'Required for limit and stop_limit orders; forbidden otherwise. JSON number or decimal string.',
    oneOf: [{ type: 'number' }, { type: 'string' }],
    example: '150.25',
    nullable: true,
  })
  limit_price?: string | null;

  @ApiPropertyOptional({
    description: 'Required for stop and stop_limit orders; forbidden otherwise. JSON number or decimal string.',
    oneOf: [{ type: 'number' }, { type: 'string' }],
    nullable: true,
  })
  stop_price?: string | null;

  @ApiPropertyOptional({ enum: TIME_IN_FORCE, default: 'day' })
  time_in_force?: TimeInForce;

  @ApiPropertyOptional({
    description:
      'Your own id (1-48 characters of letters, digits, "_", ".", ":", "-"). When absent the gateway derives one from the order terms and the UTC trade date, so the same order on the same day is the same order.',
    maxLength: 48,
  })
  client_order_id?: string;

  @ApiPropertyOptional({
    description:
      'Folded into the derived client_order_id, for a caller that legitimately wants two identical orders on one day. Ignored when client_order_id is given.',
    maxLength: 64,
  })
  idempotency_key?: string;

  @ApiPropertyOptional({
    description: "Strategy the order belongs to; defaults to the gateway's STRATEGY_ID.",
    maxLength: 64,
    example: 'alpha_baseline',
  })
  strategy_id?: string;
}
