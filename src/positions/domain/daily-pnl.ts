/**
 * Today's P&L (UTC day), pure: realized from today's fills plus unrealized
 * on the open positions at their latest prices.
 *
 * Invariants
 * - unrealized = Σ qty × (price − avg_entry_price) over non-flat positions
 *   that have a price; qty is signed, so a short gains when the price falls.
 * - total = realized + unrealized; a position without any price adds nothing
 *   and is listed in `unpriced`, so a caller can tell the figure is partial.
 * - Decimal strings in, decimal strings out; never a binary float.
 */
import { Decimal } from '../../common/decimal';

export interface PricedPosition {
  symbol: string;
  /** Signed. */
  qty: string;
  avgEntryPrice: string;
  /** The latest price, null when none is known. */
  price: string | null;
  priceSource: 'market_data' | 'position' | null;
}

export interface DailyPnlPosition {
  symbol: string;
  qty: string;
  avg_entry_price: string;
  price: string | null;
  price_source: 'market_data' | 'position' | null;
  unrealized: string | null;
}

export interface DailyPnl {
  /** UTC trade date, YYYY-MM-DD. */
  tradeDate: string;
  realized: string;
  unrealized: string;
  total: string;
  /** Non-flat positions without any price: their unrealized P&L is not in the total. */
  unpriced: string[];
  positions: DailyPnlPosition[];
  computedAt: Date;
}

/** The UTC midnight that starts the trade date of `now`. */
export function utcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

export function utcTradeDate(now: Date): string {
  return utcMidnight(now).toISOString().slice(0, 10);
}

/** A decimal string without `-0`. */
function plain(d: Decimal): string {
  return d.isZero() ? '0' : d.toFixed();
}

export function computeDailyPnl(realizedToday: string, positions: PricedPosition[], now: Date): DailyPnl {
  let unrealized = new Decimal(0);
  const unpriced: string[] = [];
  const rows: DailyPnlPosition[] = [];
  for (const p of positions) {
    const qty = new Decimal(p.qty);
    if (qty.isZero()) continue;
    let u: Decimal | null = null;
    if (p.price === null) unpriced.push(p.symbol);
    else {
      u = qty.mul(new Decimal(p.price).minus(p.avgEntryPrice));
      unrealized = unrealized.plus(u);
    }
    rows.push({
      symbol: p.symbol,
      qty: plain(qty),
      avg_entry_price: plain(new Decimal(p.avgEntryPrice)),
      price: p.price === null ? null : plain(new Decimal(p.price)),
      price_source: p.price === null ? null : p.priceSource,
      unrealized: u === null ? null : plain(u),
    });
  }
  const realized = new Decimal(realizedToday);
  return {
    tradeDate: utcTradeDate(now),
    realized: plain(realized),
    unrealized: plain(unrealized),
    total: plain(realized.plus(unrealized)),
    unpriced,
    positions: rows,
    computedAt: now,
  };
}
