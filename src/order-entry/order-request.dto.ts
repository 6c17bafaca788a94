import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ORDER_CLASSES, OrderClass } from '../trading/order-class';
import { ORDER_SIDES, ORDER_TYPES, OrderSide, OrderType, TIME_IN_FORCE, TimeInForce } from '../trading/order-status';

/** A bracket's, OTO's or OCO's take-profit leg. */
export class TakeProfitRequestDto {
  @ApiProperty({
    description:
      'The take-profit limit price (an exit sell above the stop, an exit buy below it). Decimal string or JSON number.',
    oneOf: [{ type: 'number' }, { type: 'string' }],
  })
  limit_price!: string;
}

/** A bracket's, OTO's or OCO's stop-loss leg. */
export class StopLossRequestDto {
  @ApiProperty({
    description:
      'The stop price (an exit sell below the take-profit, an exit buy above it). Decimal string or JSON number.',
    oneOf: [{ type: 'number' }, { type: 'string' }],
  })
  stop_price!: string;

  @ApiPropertyOptional({
    description: 'Makes the stop-loss a stop-limit. Decimal string or JSON number.',
    oneOf: [{ type: 'number' }, { type: 'string' }],
  })
  limit_price?: string;
}

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
      'trailing_stop only, exactly one of trail_price / trail_percent: the stop trails the best price since the order was placed by this many dollars. Positive decimal.',
    oneOf: [{ type: 'number' }, { type: 'string' }],
    nullable: true,
  })
  trail_price?: string | null;

  @ApiPropertyOptional({
    description:
      'trailing_stop only, exactly one of trail_price / trail_percent: the trail in percent of the best price (above 0, below 100).',
    oneOf: [{ type: 'number' }, { type: 'string' }],
    nullable: true,
  })
  trail_percent?: string | null;

  @ApiPropertyOptional({
    type: Boolean,
    default: false,
    description: 'Eligible for the pre- and after-market sessions. Only limit orders with time_in_force day.',
  })
  extended_hours?: boolean;

  @ApiPropertyOptional({
    enum: ORDER_CLASSES,
    default: 'simple',
    description:
      'bracket: an entry (market or limit) with take_profit and stop_loss, held until the entry fills; oto: an entry with exactly one of them; oco: the exit of an existing position, the order itself being the take_profit limit (order_type limit or absent, no limit_price) with stop_loss as its one leg. Legs are orders of their own, `<client_order_id>-tp` / `-sl`. day or gtc only; not with extended_hours.',
  })
  order_class?: OrderClass;

  @ApiPropertyOptional({ type: TakeProfitRequestDto, description: 'bracket, oto and oco only.' })
  take_profit?: TakeProfitRequestDto;

  @ApiPropertyOptional({ type: StopLossRequestDto, description: 'bracket, oto and oco only.' })
  stop_loss?: StopLossRequestDto;

  @ApiPropertyOptional({
    description:
      'Your own id (1-48 characters of letters, digits, "_", ".", ":", "-"; at most 45 for an order with legs). When absent the gateway derives one from the order terms and the UTC trade date, so the same order on the same day is the same order.',
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

/**
 * Named examples of the body (Swagger UI pre-fills the first): each is a valid
 * order, proven by test/e2e/health/openapi.e2e-spec.ts. Fields only some
 * orders may carry (limit_price, stop_price, trail_price, trail_percent, take_profit, stop_loss) have no field-level example, so
 * the field examples combine into a valid market order too.
 */
export const ORDER_REQUEST_EXAMPLES = {
  market: {
    summary: 'Market order (day)',
    value: { symbol: 'AAPL', side: 'buy', qty: 10, order_type: 'market', time_in_force: 'day' },
  },
  limit: {
    summary: 'Limit order, good till canceled, for a strategy',
    value: {
      symbol: 'MSFT',
      side: 'sell',
      qty: 5,
      order_type: 'limit',
      limit_price: '410.50',
      time_in_force: 'gtc',
      strategy_id: 'mean_rev',
    },
  },
  stop: {
    summary: 'Stop (market) order',
    value: { symbol: 'AAPL', side: 'sell', qty: 10, order_type: 'stop', stop_price: '140', time_in_force: 'day' },
  },
  stop_limit: {
    summary: 'Stop-limit order',
    value: {
      symbol: 'TSLA',
      side: 'buy',
      qty: 2,
      order_type: 'stop_limit',
      stop_price: '250',
      limit_price: '252.5',
      time_in_force: 'day',
    },
  },
  trailing_stop: {
    summary: 'Trailing stop: sell when the price falls 2.5 % from its best',
    value: {
      symbol: 'AAPL',
      side: 'sell',
      qty: 10,
      order_type: 'trailing_stop',
      trail_percent: '2.5',
      time_in_force: 'gtc',
    },
  },
  trailing_stop_dollars: {
    summary: 'Trailing stop with a trail in dollars',
    value: { symbol: 'TSLA', side: 'buy', qty: 2, order_type: 'trailing_stop', trail_price: '5', time_in_force: 'day' },
  },
  extended_hours: {
    summary: 'Limit day order eligible for extended hours',
    value: {
      symbol: 'AAPL',
      side: 'buy',
      qty: 10,
      order_type: 'limit',
      limit_price: '189.5',
      time_in_force: 'day',
      extended_hours: true,
    },
  },
  bracket: {
    summary: 'Bracket: a limit entry with a take-profit and a stop-loss (legs held until the entry fills)',
    value: {
      symbol: 'AAPL',
      side: 'buy',
      qty: 10,
      order_type: 'limit',
      limit_price: '190',
      time_in_force: 'gtc',
      order_class: 'bracket',
      take_profit: { limit_price: '200' },
      stop_loss: { stop_price: '185', limit_price: '184.5' },
    },
  },
  oco: {
    summary: 'OCO: exit a long position at a profit or at a stop, whichever comes first',
    value: {
      symbol: 'AAPL',
      side: 'sell',
      qty: 10,
      time_in_force: 'gtc',
      order_class: 'oco',
      take_profit: { limit_price: '200' },
      stop_loss: { stop_price: '185' },
    },
  },
  own_id: {
    summary: 'With your own client_order_id',
    value: { symbol: 'MSFT', side: 'buy', qty: 5, client_order_id: 'my-order-001' },
  },
  second_identical: {
    summary: 'A second identical order on the same day (idempotency_key)',
    value: { symbol: 'AAPL', side: 'buy', qty: 10, idempotency_key: 'rebalance-2' },
  },
};
