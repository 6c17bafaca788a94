/** Bodies and answers of /strategies, /positions/pnl/realtime and /performance/daily (docs/strategies-and-pnl.md). */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { OptionalOperatorField } from '../../common/operator-fields';
import { STRATEGY_STATES, StrategyTradingState } from '../domain/strategy-state';

export class SetStrategyStateDto {
  @ApiProperty({
    enum: STRATEGY_STATES,
    example: 'reducing',
    description:
      'active: trades; reducing: only reduce-only orders pass; halted: no new order passes (its due TWAP slices are written blocked_strategy_halted). Cancels always pass.',
  })
  @IsIn(STRATEGY_STATES)
  state!: StrategyTradingState;

  @ApiPropertyOptional({
    description: 'Why (1-500 characters); recorded in the audit row.',
    example: 'drawdown review',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  @Matches(/\S/, { message: 'reason must not be blank' })
  reason?: string;

  @OptionalOperatorField('Who changes the state')
  operator?: string;
}

export class HeartbeatDto {
  @ApiProperty({
    description: 'Seconds until the dead-man switch fires unless another heartbeat comes (5-3600).',
    example: 30,
    minimum: 5,
    maximum: 3600,
  })
  @IsInt()
  @Min(5)
  @Max(3600)
  timeout_seconds!: number;
}

export class HeartbeatStatusDto {
  @ApiProperty({ example: 30 }) timeout_seconds!: number;
  @ApiProperty({ format: 'date-time', example: '2026-01-05T15:00:00.000Z' }) last_at!: string;
  @ApiProperty({ format: 'date-time', example: '2026-01-05T15:00:30.000Z' }) expires_at!: string;
}

export class StrategyPositionDto {
  @ApiProperty({ example: 'AAPL' }) symbol!: string;
  @ApiProperty({ example: '-40', description: 'Signed decimal string from the strategy’s own fills.' }) qty!: string;
}

export class StrategyDto {
  @ApiProperty({ example: 'alpha_baseline' }) strategy_id!: string;
  @ApiProperty({ enum: STRATEGY_STATES, example: 'active' }) state!: string;
  @ApiProperty({
    enum: ['active', 'idle'],
    example: 'active',
    description: 'active when an order or a fill is newer than STRATEGY_ACTIVITY_THRESHOLD_SECONDS.',
  })
  activity!: string;
  @ApiProperty({ type: String, nullable: true, example: null }) state_reason!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null }) state_changed_at!: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) state_changed_by!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-01-05T14:59:58.000Z' })
  last_order_at!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-01-05T14:59:59.000Z' })
  last_fill_at!: string | null;
  @ApiProperty({ example: 2 }) open_orders!: number;
  @ApiProperty({ type: [StrategyPositionDto] }) positions!: StrategyPositionDto[];
  @ApiProperty({ example: '60', description: 'Realized today (UTC) in its own book.' }) realized_pl_today!: string;
  @ApiProperty({ example: '-12.5', description: 'Its open positions at the current marks.' }) unrealized_pl!: string;
  @ApiProperty({ type: HeartbeatStatusDto, nullable: true }) heartbeat!: HeartbeatStatusDto | null;
}

export class StrategiesResponseDto {
  @ApiProperty({ type: [StrategyDto] }) strategies!: StrategyDto[];
}

export class PnlPositionDto {
  @ApiProperty({ example: 'AAPL' }) symbol!: string;
  @ApiProperty({ example: '10' }) qty!: string;
  @ApiProperty({ example: '150.25' }) avg_entry_price!: string;
  @ApiProperty({ type: String, nullable: true, example: '152.1' }) current_price!: string | null;
  @ApiProperty({
    enum: ['realtime', 'last_fill', 'none'],
    example: 'realtime',
    description: 'realtime: market data no older than FAT_FINGER_MAX_PRICE_AGE_SECONDS; else the last fill; else none.',
  })
  price_source!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-01-05T15:00:00.000Z' })
  price_as_of!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '18.5' }) unrealized_pl!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '1.2313', description: 'Percent of the entry cost, 4 dp.' })
  unrealized_pl_pct!: string | null;
  @ApiProperty({ example: '75' }) realized_pl!: string;
}

export class UnattributedPositionDto {
  @ApiProperty({ example: 'AAPL' }) symbol!: string;
  @ApiProperty({ example: '0' }) qty!: string;
  @ApiProperty({ example: '50' }) realized_pl!: string;
  @ApiProperty({ type: String, nullable: true, example: '-50' }) unrealized_pl!: string | null;
}

export class UnattributedDto {
  @ApiProperty({ type: [UnattributedPositionDto] }) positions!: UnattributedPositionDto[];
}

export class PnlResponseDto {
  @ApiProperty({ type: String, nullable: true, example: null }) strategy_id!: string | null;
  @ApiProperty({ type: [PnlPositionDto] }) positions!: PnlPositionDto[];
  @ApiProperty({ example: '18.5' }) total_unrealized_pl!: string;
  @ApiProperty({ example: '75' }) total_realized_pl!: string;
  @ApiProperty({
    type: UnattributedDto,
    nullable: true,
    description:
      "The account's figures minus the strategies' books (netting, reconciliation corrections, orphans); only for the whole account (no strategy_id, a key that sees every strategy).",
  })
  unattributed!: UnattributedDto | null;
  @ApiProperty({ format: 'date-time', example: '2026-01-05T15:00:00.000Z' }) as_of!: string;
}

export class PerformanceDayDto {
  @ApiProperty({ example: '2026-01-05' }) date!: string;
  @ApiProperty({ example: 'alpha_baseline' }) strategy_id!: string;
  @ApiProperty({ example: '60' }) realized_pl!: string;
  @ApiProperty({ example: 3 }) fills!: number;
  @ApiProperty({ example: '1000' }) buy_notional!: string;
  @ApiProperty({ example: '1360' }) sell_notional!: string;
  @ApiProperty({ example: 3 }) orders!: number;
  @ApiProperty({ example: 1 }) rejections!: number;
}

export class PerformanceTotalsDto {
  @ApiProperty({ example: '60' }) realized_pl!: string;
  @ApiProperty({ example: 3 }) fills!: number;
  @ApiProperty({ example: '1000' }) buy_notional!: string;
  @ApiProperty({ example: '1360' }) sell_notional!: string;
  @ApiProperty({ example: 3 }) orders!: number;
  @ApiProperty({ example: 1 }) rejections!: number;
}

export class PerformanceResponseDto {
  @ApiProperty({ example: '2025-12-30' }) start!: string;
  @ApiProperty({ example: '2026-01-05' }) end!: string;
  @ApiProperty({ type: String, nullable: true, example: null }) strategy_id!: string | null;
  @ApiProperty({ type: [PerformanceDayDto] }) days!: PerformanceDayDto[];
  @ApiProperty({ type: PerformanceTotalsDto }) totals!: PerformanceTotalsDto;
  @ApiProperty({
    nullable: true,
    example: { realized_pl: '0' },
    description: "The account's realized P&L over the range minus the strategies'; null when scoped.",
  })
  unattributed!: { realized_pl: string } | null;
  @ApiProperty({ format: 'date-time', example: '2026-01-05T15:00:00.000Z' }) as_of!: string;
}
