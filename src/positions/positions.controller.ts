import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { RequirePermissions } from '../auth/auth.decorators';
import { Decimal, plain } from '../common/decimal';
import { unrealizedPl } from './domain/position-math';
import { PositionsResponseDto } from './dto/positions-response.dto';
import { PositionRepository } from './persistence/position.repository';

@ApiTags('positions')
@ApiBearerAuth()
@ApiSecurity('api-key')
@Controller('positions')
export class PositionsController {
  constructor(private readonly positions: PositionRepository) {}

  @Get()
  @RequirePermissions('VIEW_POSITIONS')
  @ApiOperation({ summary: 'Open positions with P&L (decimal strings)' })
  @ApiOkResponse({ type: PositionsResponseDto })
  async list(): Promise<PositionsResponseDto> {
    const all = await this.positions.listAll();
    let totalUnrealized = new Decimal(0);
    let totalRealized = new Decimal(0);
    const open = [];
    for (const p of all) {
      totalRealized = totalRealized.plus(p.realizedPl);
      if (new Decimal(p.qty).isZero()) continue;
      const unrealized = p.currentPrice === null ? null : unrealizedPl(p, p.currentPrice);
      if (unrealized !== null) totalUnrealized = totalUnrealized.plus(unrealized);
      open.push({
        symbol: p.symbol,
        qty: p.qty,
        avg_entry_price: p.avgEntryPrice,
        current_price: p.currentPrice,
        unrealized_pl: unrealized,
        realized_pl: p.realizedPl,
        updated_at: p.updatedAt.toISOString(),
        last_trade_at: p.lastTradeAt ? p.lastTradeAt.toISOString() : null,
      });
    }
    return {
      positions: open,
      total_positions: open.length,
      total_unrealized_pl: plain(totalUnrealized),
      total_realized_pl: plain(totalRealized),
    };
  }
}
