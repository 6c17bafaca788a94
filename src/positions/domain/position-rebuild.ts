/**
 * A symbol's position rebuilt from its executions in the order they
 * happened. A fill recovered late (backfill) must not be priced against a
 * position that already contains later fills, so after one is recorded the
 * symbol's position and every fill's realized P&L are recomputed from the
 * start.
 *
 * Invariant: the result depends only on the set of fills and their order of
 * execution, never on the order in which they were recorded.
 */
import { exact } from '../../common/decimal';
import { applyFillToPosition, FLAT, PositionState } from './position-math';

export interface RecordedFill {
  id: string;
  side: 'buy' | 'sell';
  qty: string;
  price: string;
  executedAt: Date;
  realizedPl: string;
}

export interface RebuiltPosition {
  position: PositionState;
  /** Fills whose realized P&L changes, with the new value. */
  changedFills: Array<{ id: string; realizedPl: string }>;
  lastTradeAt: Date | null;
}

/** `fills` in any order; ties on time keep the recording order (the id). */
export function rebuildPosition(fills: readonly RecordedFill[]): RebuiltPosition {
  const sorted = [...fills].sort((a, b) => a.executedAt.getTime() - b.executedAt.getTime() || compareIds(a.id, b.id));
  let position: PositionState = FLAT;
  const changedFills: Array<{ id: string; realizedPl: string }> = [];
  for (const f of sorted) {
    const change = applyFillToPosition(position, { side: f.side, qty: f.qty, price: f.price });
    if (!exact(change.realizedDelta).eq(exact(f.realizedPl)))
      changedFills.push({ id: f.id, realizedPl: change.realizedDelta });
    position = { qty: change.qty, avgEntryPrice: change.avgEntryPrice, realizedPl: change.realizedPl };
  }
  return { position, changedFills, lastTradeAt: sorted.at(-1)?.executedAt ?? null };
}

/** Numeric ids as strings (BIGINT): shorter is smaller. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
