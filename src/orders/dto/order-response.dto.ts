import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { LEG_TYPES, ORDER_CLASSES } from '../../trading/order-class';
import { ORDER_SIDES, ORDER_STATUSES, ORDER_TYPES, TIME_IN_FORCE } from '../../trading/order-status';

/** One leg of a bracket, OTO or OCO order, as its entry lists it (the leg itself: GET /orders/{its id}). */
export class OrderLegDto {
  @ApiProperty({ example: '9467f0b30ecb46c52247b400-tp', description: '`<entry>-tp` or `<entry>-sl`.' })
  client_order_id!: string;

  @ApiProperty({ enum: LEG_TYPES })
  leg_type!: string;

  @ApiProperty({ enum: ORDER_STATUSES, description: 'A leg waiting for its entry to fill reads `accepted`.' })
  status!: string;

  @ApiProperty({ type: String, nullable: true, description: "The broker's id of the leg." })
  broker_order_id!: string | null;

  @ApiProperty({ enum: ORDER_SIDES })
  side!: string;

  @ApiProperty({ enum: ORDER_TYPES, description: 'limit (take-profit), stop or stop_limit (stop-loss).' })
  order_type!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Decimal string.' })
  limit_price!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Decimal string.' })
  stop_price!: string | null;

  @ApiProperty({ description: 'Cumulative filled quantity, decimal string.', example: '0' })
  filled_qty!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Decimal string.' })
  filled_avg_price!: string | null;
}

export class TakeProfitDto {
  @ApiProperty({ example: '160', description: 'Decimal string.' })
  limit_price!: string;
}

export class StopLossDto {
  @ApiProperty({ example: '140', description: 'Decimal string.' })
  stop_price!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Set: the stop-loss is a stop-limit. Decimal string.' })
  limit_price!: string | null;
}

export class OrderResponseDto {
  @ApiProperty({ example: '9467f0b30ecb46c52247b400' })
  client_order_id!: string;

  @ApiProperty({ enum: ORDER_STATUSES, example: 'dry_run' })
  status!: string;

  @ApiProperty({ type: String, nullable: true, description: "The broker's id, once the broker has the order." })
  broker_order_id!: string | null;

  @ApiProperty({ example: 'AAPL' })
  symbol!: string;

  @ApiProperty({ enum: ORDER_SIDES })
  side!: string;

  @ApiProperty({ type: 'integer', example: 10, description: 'Whole shares.' })
  qty!: number;

  @ApiProperty({ enum: ORDER_TYPES })
  order_type!: string;

  @ApiProperty({ type: String, nullable: true, example: '150.25', description: 'Decimal string.' })
  limit_price!: string | null;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'The client_order_id of the order this one replaces (a replacement made by PATCH /orders/{id}).',
  })
  replaces!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: "Set once the broker accepted this order's replacement: that order's client_order_id.",
  })
  replaced_by!: string | null;

  @ApiProperty({ example: 'Order logged (DRY_RUN mode)' })
  message!: string;

  @ApiPropertyOptional({ enum: ORDER_CLASSES, description: 'Present for orders with legs (bracket, oto, oco).' })
  order_class?: string;

  @ApiPropertyOptional({ type: [OrderLegDto], description: 'Present for orders with legs: the legs as they stand.' })
  legs?: OrderLegDto[];
}

export class OrderDetailDto {
  @ApiProperty() client_order_id!: string;
  @ApiProperty() strategy_id!: string;
  @ApiProperty() symbol!: string;
  @ApiProperty({ enum: ORDER_SIDES }) side!: string;
  @ApiProperty({ type: 'integer', description: 'Whole shares.' }) qty!: number;
  @ApiProperty({ enum: ORDER_TYPES }) order_type!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Decimal string.' }) limit_price!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Decimal string.' }) stop_price!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Trailing stops: the trail in dollars.' }) trail_price!:
    string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Trailing stops: the trail in percent.' })
  trail_percent!: string | null;
  @ApiProperty({ description: 'Eligible for the pre- and after-market sessions.' }) extended_hours!: boolean;
  @ApiProperty({ enum: TIME_IN_FORCE }) time_in_force!: string;
  @ApiProperty({ enum: ORDER_STATUSES }) status!: string;
  @ApiProperty({ type: String, nullable: true }) broker_order_id!: string | null;
  @ApiProperty({ type: String, nullable: true }) error_message!: string | null;
  @ApiProperty({ type: 'integer' }) retry_count!: number;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) submitted_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) filled_at!: string | null;
  @ApiProperty({ description: 'Cumulative filled quantity, decimal string.', example: '0' }) filled_qty!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Decimal string.' }) filled_avg_price!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true }) metadata!: Record<string, unknown>;
  @ApiProperty({
    type: String,
    nullable: true,
    description: "A TWAP slice's plan, or a leg's entry (bracket, oto, oco).",
  })
  parent_order_id!: string | null;
  @ApiProperty({ enum: ORDER_CLASSES, description: 'simple, or the class of an order with legs (and of its legs).' })
  order_class!: string;
  @ApiProperty({ enum: LEG_TYPES, nullable: true, description: 'On a leg: which leg it is.' }) leg_type!: string | null;
  @ApiProperty({ type: TakeProfitDto, nullable: true, description: "An order with legs: its take-profit's terms." })
  take_profit!: TakeProfitDto | null;
  @ApiProperty({ type: StopLossDto, nullable: true, description: "An order with legs: its stop-loss's terms." })
  stop_loss!: StopLossDto | null;
  @ApiProperty({ type: 'integer', nullable: true }) slice_num!: number | null;
  @ApiProperty({ type: 'integer', nullable: true }) total_slices!: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) scheduled_time!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The client_order_id of the order this one replaces.' })
  replaces!: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description: "The client_order_id of this order's replacement, once the broker accepted it (status `replaced`).",
  })
  replaced_by!: string | null;
}

export class OrderListResponseDto {
  @ApiProperty({ type: [OrderDetailDto] })
  orders!: OrderDetailDto[];

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` to get the next page; null on the last page.',
  })
  next_cursor!: string | null;
}

export class CancelOrderResponseDto {
  @ApiProperty() client_order_id!: string;
  @ApiProperty({
    enum: ORDER_STATUSES,
    description: 'Status after the request; the final `canceled` arrives as an update.',
  })
  status!: string;
  @ApiProperty({ type: String, nullable: true }) broker_order_id!: string | null;
  @ApiProperty({ example: 'Cancel requested at the broker' }) message!: string;
}
