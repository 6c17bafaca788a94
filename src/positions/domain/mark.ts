/**
 * Which price marks a position (docs/strategies-and-pnl.md#marking-to-market):
 * the market-data price when it is fresh (no older than the fat-finger price
 * age, docs/risk-and-safety.md#fat-finger), else the symbol's last fill
 * price, else none. A stale market price never marks a position.
 */
export type PriceSource = 'realtime' | 'last_fill' | 'none';

export interface Mark {
  price: string | null;
  source: PriceSource;
  asOf: Date | null;
}

export interface PricePoint {
  price: string;
  at: Date;
}

export function chooseMark(market: PricePoint | null, lastFill: PricePoint | null, now: Date, maxAgeMs: number): Mark {
  if (market && now.getTime() - market.at.getTime() <= maxAgeMs) {
    return { price: market.price, source: 'realtime', asOf: market.at };
  }
  if (lastFill) return { price: lastFill.price, source: 'last_fill', asOf: lastFill.at };
  return { price: null, source: 'none', asOf: null };
}
