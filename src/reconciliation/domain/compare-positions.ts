/** Reconciliation of positions (docs/reconciliation.md): local books against the broker's, symbol by symbol. */
import { BrokerPosition } from '../../broker/broker-client.port';
import { exact, plain } from '../../common/decimal';
import { Finding, PositionView } from './reconcile';

/**
 * Positions: local vs broker quantity and average entry price, per symbol
 * (a symbol absent on one side is flat there). Each difference is a finding
 * carrying both values; nothing else.
 */
export function comparePositions(local: readonly PositionView[], broker: readonly BrokerPosition[]): Finding[] {
  const mine = new Map(local.map((p) => [p.symbol, p]));
  const theirs = new Map(broker.map((p) => [p.symbol, { qty: p.qty, avgEntryPrice: p.avgEntryPrice }]));
  const symbols = [...new Set([...mine.keys(), ...theirs.keys()])].sort();
  const findings: Finding[] = [];
  for (const symbol of symbols) {
    const l = normalizePosition(mine.get(symbol));
    const b = normalizePosition(theirs.get(symbol));
    if (l.qty === b.qty && l.avgEntryPrice === b.avgEntryPrice) continue;
    findings.push({
      kind: 'position_mismatch',
      key: `position_mismatch:${symbol}:${l.qty}@${l.avgEntryPrice}:${b.qty}@${b.avgEntryPrice}`,
      symbol,
      brokerOrderId: null,
      clientOrderId: null,
      local: { qty: l.qty, avg_entry_price: l.avgEntryPrice },
      broker: { qty: b.qty, avg_entry_price: b.avgEntryPrice },
    });
  }
  return findings;
}

/**
 * Average prices are compared at the broker's precision: brokers round the
 * entry price (Alpaca to a few decimals), so a difference below 1e-4 per
 * share is agreement, not a mismatch.
 */
export const AVG_PRICE_DP = 4;

function normalizePosition(p: { qty: string; avgEntryPrice: string } | undefined): {
  qty: string;
  avgEntryPrice: string;
} {
  if (!p) return { qty: '0', avgEntryPrice: '0' };
  const qty = exact(p.qty);
  if (qty.isZero()) return { qty: '0', avgEntryPrice: '0' };
  return { qty: plain(qty), avgEntryPrice: plain(exact(p.avgEntryPrice).toDecimalPlaces(AVG_PRICE_DP)) };
}
