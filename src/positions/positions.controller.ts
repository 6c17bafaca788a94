import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { RequirePermissions } from '../auth/auth.decorators';
import { InputValidationError } from '../common/domain-error';
import { isSymbol, SYMBOL_PROBLEM } from '../common/symbol';
import { Decimal, exact, plain } from '../common/decimal';
import { unrealizedPl } from './domain/position-math';
import { PositionsResponseDto } from './dto/positions-response.dto';
import { PositionRepository } from './persistence/position.repository';
import { PositionMarks } from './position-marks.service';

@ApiTags('positions')
@ApiBearerAuth()
@ApiSecurity('api-key')
@Controller('positions')
export class PositionsController {
  constructor(
    private readonly positions: PositionRepository,
    private readonly marks: PositionMarks,
  ) {}

  @Get()
  @RequirePermissions('VIEW_POSITIONS')
  @ApiOperation({
    summary: 'Open positions marked to market (decimal strings)',
    description:
      'current_price is the fresh market-data price (no older than FAT_FINGER_MAX_PRICE_AGE_SECONDS); null when there is none, and then so are market_value and unrealized_pl.',
  })
  @ApiQuery({ name: 'symbol', required: false, example: 'AAPL' })
  @ApiOkResponse({ type: PositionsResponseDto })
  async list(@Query('symbol') symbol?: string): Promise<PositionsResponseDto> {
    if (symbol !== undefined && !isSymbol(symbol)) throw InputValidationError.field('symbol', SYMBOL_PROBLEM);
    const all = (await this.positions.listAll()).filter((p) => symbol === undefined || p.symbol === symbol);
    const open = all.filter((p) => !new Decimal(p.qty).isZero());
    const marks = await this.marks.marks(
      open.map((p) => p.symbol),
      false,
    );
    let totalUnrealized = new Decimal(0);
    let totalRealized = new Decimal(0);
    for (const p of all) totalRealized = totalRealized.plus(p.realizedPl);
    const rows = open.map((p) => {
      const price = marks.get(p.symbol)?.price ?? null;
      const unrealized = price === null ? null : unrealizedPl(p, price);
      if (unrealized !== null) totalUnrealized = totalUnrealized.plus(unrealized);
      return {
        symbol: p.symbol,
        qty: p.qty,
        avg_entry_price: p.avgEntryPrice,
        current_price: price,
        market_value: price === null ? null : plain(exact(p.qty).times(price)),
        unrealized_pl: unrealized,
        realized_pl: p.realizedPl,
        updated_at: p.updatedAt.toISOString(),
        last_trade_at: p.lastTradeAt ? p.lastTradeAt.toISOString() : null,
      };
    });
    return {
      positions: rows,
      total_positions: rows.length,
      total_unrealized_pl: plain(totalUnrealized),
      total_realized_pl: plain(totalRealized),
    };
  }
}
