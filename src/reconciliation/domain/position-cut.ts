/**
 * Which position differences a reconciliation run may report
 * (docs/reconciliation.md#positions-compared-at-a-quiet-cut): a pure decision
 * over two comparisons of the books with the broker, taken a moment apart, and
 * the symbols that moved around them.
 *
 * The books and the broker are read at different moments, and fills keep
 * arriving: a fill the broker has executed may still be on its way to the
 * books (or the other way round), so a difference seen while a symbol trades
 * says nothing about whether the books are wrong. A difference counts only
 * when it holds at a quiet cut.
 *
 * Invariants:
 * - a symbol that moved (a local order written or changed, an execution at
 *   the broker) from shortly before the first read to the end of the second
 *   is never reported: it is deferred to a later run, and whatever finding
 *   it already has is left as it is (neither confirmed nor resolved);
 * - any other difference is reported only when the second comparison finds
 *   the very same one (same symbol, same values on both sides);
 * - nothing is invented: a reported finding is one of the first comparison's.
 */
import { Finding } from './reconcile';

export interface PositionCut {
  /** Differences to report. */
  confirmed: Finding[];
  /** Symbols that differed at either read but moved: judged by a later run. */
  deferred: string[];
}

export function positionsAtQuietCut(
  first: readonly Finding[],
  second: readonly Finding[],
  moved: ReadonlySet<string>,
): PositionCut {
  const again = new Set(second.map((f) => f.key));
  const confirmed = first.filter((f) => !moved.has(f.symbol) && again.has(f.key));
  const deferred = [...new Set([...first, ...second].map((f) => f.symbol))].filter((s) => moved.has(s)).sort();
  return { confirmed, deferred };
}
