import { ApiPropertyOptional } from '@nestjs/swagger';
import { TIME_IN_FORCE, TimeInForce } from '../trading/order-status';

const DECIMAL = { oneOf: [{ type: 'number' }, { type: 'string' }], nullable: true };

/**
 * The body of PATCH /orders/{client_order_id}, for the API description. The
 * body itself is checked by ReplaceOrderCommand.create (the order fields'
 * rules); these declarations only document it. Every field is optional; at
 * least one must change the order.
 */
export class ReplaceOrderRequestDto {
  @ApiPropertyOptional({
    description:
      "Whole shares (> 0): the replacement's quantity. Fills of the old order stay with it; absent, the replacement is for the old order's open (unfilled) quantity.",
    oneOf: [{ type: 'integer' }, { type: 'string' }],
    example: 5,
  })
  qty?: string;

  @ApiPropertyOptional({ ...DECIMAL, description: 'limit and stop_limit orders only.', example: '149.5' })
  limit_price?: string | null;

  @ApiPropertyOptional({ ...DECIMAL, description: 'stop and stop_limit orders only.' })
  stop_price?: string | null;

  @ApiPropertyOptional({ ...DECIMAL, description: 'trailing_stop orders that trail by price only.' })
  trail_price?: string | null;

  @ApiPropertyOptional({
    ...DECIMAL,
    description: 'trailing_stop orders that trail by percent only (below 100).',
  })
  trail_percent?: string | null;

  @ApiPropertyOptional({
    ...DECIMAL,
    description:
      "trailing_stop orders only: the new trail in the order's own unit (the broker's name for trail_price / trail_percent).",
  })
  trail?: string | null;

  @ApiPropertyOptional({ enum: TIME_IN_FORCE })
  time_in_force?: TimeInForce;

  @ApiPropertyOptional({
    description:
      "The replacement's client_order_id (≤ 48 of A-Z a-z 0-9 _ . : -). Default: `<first order of the chain>-r<n>`. Send one to make a retried PATCH idempotent.",
    example: 'my-order-001-v2',
  })
  client_order_id?: string;
}

export const REPLACE_REQUEST_EXAMPLES = {
  limit_price: { summary: 'Move a resting limit', value: { limit_price: '149.5' } },
  qty_and_price: { summary: 'Change quantity and price', value: { qty: 5, limit_price: '149.75' } },
  trailing_stop: { summary: "Widen a trailing stop's trail", value: { trail_percent: '2.5' } },
  own_id: {
    summary: 'With its own client_order_id (idempotent retries)',
    value: { limit_price: '150', time_in_force: 'gtc', client_order_id: 'my-order-001-v2' },
  },
};
