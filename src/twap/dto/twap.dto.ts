import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Identifier } from '../../common/validators';
import { ORDER_SIDES, ORDER_TYPES, OrderSide, OrderType, TIME_IN_FORCE, TimeInForce } from '../../trading/order-status';
import { SLICE_STATES } from '../domain/carry-forward';
import { MAX_DURATION_MINUTES, MAX_INTERVAL_SECONDS } from '../domain/twap-plan';
import { PLAN_STATUSES } from '../persistence/twap.repository';

const PARENT_ID = '3c1f0a9be2d47781c5a0e6f2';
/** The order types a plan slices (a trailing stop is not one of them). */
const PLAN_ORDER_TYPES = ORDER_TYPES.filter((t) => t !== 'trailing_stop');

/** The body of POST /orders/slice, for the API description; SlicingCommand.create checks it. */
export class SlicingRequestDto {
  @ApiProperty({ description: 'Ticker; trimmed and upper-cased.', example: 'AAPL' })
  symbol!: string;

  @ApiProperty({ enum: ORDER_SIDES, example: 'buy' })
  side!: OrderSide;

  @ApiProperty({
    description: 'Total whole shares; at least one per slice.',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
    example: 600,
  })
  qty!: string;

  @ApiProperty({
    description: `Length of the window, whole minutes 1-${MAX_DURATION_MINUTES} (one trading day).`,
    example: 10,
  })
  duration_minutes!: number;

  @ApiPropertyOptional({
    description: `Seconds between slices, 1-${MAX_INTERVAL_SECONDS} and not longer than the duration; at most 1000 slices.`,
    default: 60,
    example: 60,
  })
  interval_seconds?: number;

  @ApiPropertyOptional({ enum: PLAN_ORDER_TYPES, default: 'market' })
  order_type?: OrderType;

  @ApiPropertyOptional({
    description: 'Required for limit and stop_limit plans. JSON number or decimal string.',
    nullable: true,
    oneOf: [{ type: 'number' }, { type: 'string' }],
    example: null,
  })
  limit_price?: string | null;

  @ApiPropertyOptional({
    description: 'Required for stop and stop_limit plans. JSON number or decimal string.',
    nullable: true,
    oneOf: [{ type: 'number' }, { type: 'string' }],
    example: null,
  })
  stop_price?: string | null;

  @ApiPropertyOptional({ enum: TIME_IN_FORCE, default: 'day' })
  time_in_force?: TimeInForce;

  @ApiPropertyOptional({ description: 'Default STRATEGY_ID; must be in the key’s scope.', example: 'alpha_baseline' })
  strategy_id?: string;

  @ApiPropertyOptional({
    description: 'Folded into the parent id, to place a second identical plan on the same day.',
    example: 'rebalance-2',
  })
  idempotency_key?: string;

  @ApiPropertyOptional({
    description: 'The trade date in the parent id (YYYY-MM-DD); default today (UTC).',
    format: 'date',
    example: '2026-01-02',
  })
  trade_date?: string;
}

export class SliceDto {
  @ApiProperty({ example: 0 }) slice_num!: number;
  @ApiProperty({ example: `${PARENT_ID}-s0` }) client_order_id!: string;
  @ApiProperty({ example: 'alpha_baseline' }) strategy_id!: string;
  @ApiProperty({ description: 'Planned quantity.', example: 60 }) qty!: number;
  @ApiProperty({ example: '2026-01-02T15:00:00.000Z' }) scheduled_time!: string;
  @ApiProperty({
    description: `The slice's own state until its order exists (${SLICE_STATES.join(', ')}), then the order's status.`,
    example: 'filled',
  })
  status!: string;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description:
      "The quantity fixed for this slice's order when claimed: planned plus carried, even if the order was then rejected or canceled. Null for a slice not claimed or not sent (refused, blocked, expired, canceled unsent).",
    example: 60,
  })
  sent_qty!: number | null;
  @ApiProperty({ example: 60 }) filled_qty!: number;
  @ApiProperty({ type: String, nullable: true, example: '187.42' }) filled_avg_price!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-01-02T15:00:00.120Z' }) sent_at!: string | null;
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why it was not sent.' })
  reason_code!: string | null;
}

export class SlicingPlanDto {
  @ApiProperty({ example: PARENT_ID }) parent_order_id!: string;
  @ApiProperty({ example: 'alpha_baseline' }) parent_strategy_id!: string;
  @ApiProperty({ example: 'AAPL' }) symbol!: string;
  @ApiProperty({ enum: ORDER_SIDES, example: 'buy' }) side!: string;
  @ApiProperty({ enum: PLAN_ORDER_TYPES, example: 'market' }) order_type!: string;
  @ApiProperty({ type: String, nullable: true, example: null }) limit_price!: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) stop_price!: string | null;
  @ApiProperty({ enum: TIME_IN_FORCE, example: 'day' }) time_in_force!: string;
  @ApiProperty({ example: 600 }) total_qty!: number;
  @ApiProperty({ example: 10 }) total_slices!: number;
  @ApiProperty({ example: 10 }) duration_minutes!: number;
  @ApiProperty({ example: 60 }) interval_seconds!: number;
  @ApiProperty({ enum: PLAN_STATUSES, example: 'active' }) status!: string;
  @ApiProperty({ example: '2026-01-02T15:00:00.000Z' }) created_at!: string;
  @ApiProperty({ type: String, nullable: true, example: null }) ended_at!: string | null;
  @ApiProperty({
    description:
      "Quantity working or filled: each child order's quantity while it is open, filled in full or recorded (dry_run), its filled quantity once it ended short (rejected, canceled, expired); a refused or blocked slice counts nothing. Never more than total_qty.",
    example: 120,
  })
  sent_qty!: number;
  @ApiProperty({ example: 120 }) filled_qty!: number;
  @ApiProperty({ type: String, nullable: true, description: 'VWAP of the fills.', example: '187.4' })
  filled_avg_price!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Market price at acceptance.', example: '187.3' })
  arrival_price!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Signed bps against arrival: positive is a cost (buy above, sell below arrival). Null before a fill.',
    example: '5.34',
  })
  slippage_bps!: string | null;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Set when the plan ended: total_qty minus what filled (or is recorded, in DRY_RUN).',
    example: null,
  })
  shortfall_qty!: number | null;
  @ApiProperty({ type: [SliceDto] }) slices!: SliceDto[];
}

export class CancelPlanResponseDto {
  @ApiProperty({ example: PARENT_ID }) parent_order_id!: string;
  @ApiProperty({ description: 'Slices stopped before they were sent.', example: 8 }) canceled_slices!: number;
  @ApiProperty({ description: 'Child orders cancelled or being cancelled.', example: 1 }) canceled_orders!: number;
}

export class ParentOrderIdParamDto {
  @ApiProperty({ description: 'The plan’s parent_order_id.', example: PARENT_ID })
  @Identifier(48)
  parent_id!: string;
}
