/**
 * The startup reconciliation gate (docs/reconciliation.md#the-startup-gate) as each process sees it,
 * and the symbols reconciliation blocks. Pure: the service feeds it the state
 * it last read and the time.
 *
 * Invariants:
 * 1. Closed at boot. It opens when this process sees a successful run, or a
 *    force-complete, that finished after the process started (both times are
 *    the database's clock, so replicas' clocks do not matter), and then stays
 *    open for the life of the process (it is a startup gate: a later failed
 *    run is reported, it does not close it).
 * 2. Fail closed: a state not confirmed within `maxAgeMs` is unreadable, and
 *    the order path treats unreadable as closed for new exposure.
 * 3. Blocked symbols: an unacknowledged orphan always blocks its symbol; an
 *    unresolved position mismatch blocks only under the `block` policy.
 */
import { FindingKind } from './reconcile';

export const GATE_MAX_AGE_MS = 1_000;
export const GATE_REFRESH_MS = 250;

export type PositionMismatchPolicy = 'block' | 'report';

export interface ReconciliationStateView {
  lastRunStartedAt: Date | null;
  lastRunFinishedAt: Date | null;
  lastRunOk: boolean | null;
  lastError: string | null;
  lastSuccessAt: Date | null;
  forceCompletedAt: Date | null;
  forceCompletedBy: string | null;
  version: number;
}

export interface OpenBlockingFinding {
  id: string;
  kind: FindingKind;
  symbol: string;
}

export interface BlockedSymbol {
  code: 'SYMBOL_QUARANTINED';
  reason: string;
}

export interface GateView {
  readable: boolean;
  open: boolean;
  reason: string | null;
  blockedSymbols: ReadonlyMap<string, BlockedSymbol>;
}

/** Whether the gate opens for a process started at `processStartedAt` (database time). */
export function opensGate(state: ReconciliationStateView, processStartedAt: Date): 'run' | 'force' | null {
  const after = (d: Date | null) => d !== null && d.getTime() >= processStartedAt.getTime();
  if (after(state.lastSuccessAt)) return 'run';
  if (after(state.forceCompletedAt)) return 'force';
  return null;
}

/** Why the gate is still closed, in words an operator can act on. */
export function closedReason(state: ReconciliationStateView, running: boolean): string {
  if (state.lastRunOk === false && state.lastError) {
    return `the startup reconciliation failed: ${state.lastError} (retrying; POST /api/v1/reconciliation/force-complete opens the gate)`;
  }
  if (running) return 'the startup reconciliation is running';
  return 'waiting for the startup reconciliation';
}

export function blockedSymbols(
  blocking: readonly OpenBlockingFinding[],
  policy: PositionMismatchPolicy,
): Map<string, BlockedSymbol> {
  const out = new Map<string, BlockedSymbol>();
  for (const f of blocking) {
    if (f.kind === 'orphan') {
      out.set(f.symbol, {
        code: 'SYMBOL_QUARANTINED',
        reason: `an order the gateway never sent is open at the broker in ${f.symbol} (finding ${f.id}); acknowledge it to lift the quarantine`,
      });
    } else if (f.kind === 'position_mismatch' && policy === 'block' && !out.has(f.symbol)) {
      out.set(f.symbol, {
        code: 'SYMBOL_QUARANTINED',
        reason: `the ${f.symbol} position differs from the broker's (finding ${f.id}); resolved when they agree again or when acknowledged`,
      });
    }
  }
  return out;
}
