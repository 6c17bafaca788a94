/**
 * What a dispatcher tick does with a plan's due slices (docs/twap.md#nothing-lost-nothing-overfilled):
 * a pure decision over the plan's slices and the outcomes of the orders
 * already sent.
 *
 * Every slice's quantity is in one of three states:
 * - reserved: an unsent (`scheduled`) slice's planned quantity;
 * - committed: what a sent slice can still fill or has filled — its sent
 *   quantity while the child order is open, its filled quantity once the
 *   child has ended;
 * - released: everything else (a refused, blocked, expired, rejected or
 *   canceled remainder).
 *
 * A slice sent now takes `total − committed − reserved(other unsent slices)`:
 * its own planned quantity plus everything released so far. Hence
 * `committed + reserved ≤ total` at all times: the plan never overfills, and
 * what was released is carried into the next slice sent. What is released
 * after the last slice went out is the plan's shortfall.
 */

/** A slice's own state (the child order's state is separate). */
export const SLICE_STATES = [
  'scheduled',
  'sending',
  'sent',
  'skipped',
  'expired',
  'canceled',
  'refused',
  'blocked_kill_switch',
  'blocked_circuit_breaker',
  'blocked_strategy_halted',
] as const;
export type SliceState = (typeof SLICE_STATES)[number];

export interface SliceSnapshot {
  sliceNum: number;
  plannedQty: number;
  scheduledTime: Date;
  state: SliceState;
  /** Fixed when the slice is claimed. */
  sentQty: number | null;
  /** The child order, once it exists; `dryRun`: recorded only (DRY_RUN), it commits its quantity. */
  child: { open: boolean; filledQty: number; dryRun?: boolean } | null;
}

export type SliceAction =
  | { kind: 'send'; sliceNum: number; qty: number; carried: number }
  | { kind: 'expire'; sliceNum: number; lateMs: number }
  | { kind: 'skip'; sliceNum: number };

/** What a slice commits: the quantity that has filled or still can. */
export function committedQty(s: SliceSnapshot): number {
  if (s.child?.dryRun) return s.sentQty ?? 0;
  if (s.state === 'sending') return s.child && !s.child.open ? s.child.filledQty : (s.sentQty ?? 0);
  if (s.state !== 'sent') return 0;
  if (!s.child) return s.sentQty ?? 0;
  return s.child.open ? (s.sentQty ?? 0) : s.child.filledQty;
}

/**
 * The quantity a slice has working or filled at the broker — a plan's
 * `sent_qty` is the sum over its slices: what `committedQty` counts for a
 * slice whose order exists (its quantity while working, filled in full or
 * recorded under DRY_RUN; its filled quantity once it ended short), nothing
 * before its order is written or when none will be (refused, blocked,
 * expired, canceled unsent). Never more than `committedQty`, so the sum
 * never exceeds `total_qty`.
 */
export function sentQtyOf(s: SliceSnapshot): number {
  return s.child ? committedQty(s) : 0;
}

/** Committed plus reserved quantity: never more than the plan's total. */
export function exposureOf(slices: readonly SliceSnapshot[]): number {
  return slices.reduce((sum, s) => sum + committedQty(s) + (s.state === 'scheduled' ? s.plannedQty : 0), 0);
}

/**
 * The actions for the slices due by `dueBy` (default `now`; a dispatcher
 * claims a moment ahead, and sends each slice at its time), in slice order:
 * a slice late by `graceMs` or more at `now` expires (its quantity is
 * released); any other slice due by then is sent with its planned quantity
 * plus what was released before it.
 */
export function decideDueSlices(
  totalQty: number,
  slices: readonly SliceSnapshot[],
  now: Date,
  graceMs: number,
  dueBy: Date = now,
): SliceAction[] {
  const work = slices.map((s) => ({ ...s })).sort((a, b) => a.sliceNum - b.sliceNum);
  const actions: SliceAction[] = [];
  for (const s of work) {
    if (s.state !== 'scheduled' || s.scheduledTime.getTime() > dueBy.getTime()) continue;
    const lateMs = now.getTime() - s.scheduledTime.getTime();
    if (lateMs >= graceMs) {
      s.state = 'expired';
      actions.push({ kind: 'expire', sliceNum: s.sliceNum, lateMs });
      continue;
    }
    const others = work.filter((o) => o !== s);
    const qty = totalQty - exposureOf(others);
    if (qty <= 0) {
      s.state = 'skipped';
      actions.push({ kind: 'skip', sliceNum: s.sliceNum });
      continue;
    }
    s.state = 'sending';
    s.sentQty = qty;
    actions.push({ kind: 'send', sliceNum: s.sliceNum, qty, carried: qty - s.plannedQty });
  }
  return actions;
}

/** True when nothing of the plan can still be sent or fill. */
export function isSettled(slices: readonly SliceSnapshot[]): boolean {
  return slices.every(
    (s) => s.state !== 'scheduled' && s.state !== 'sending' && !(s.state === 'sent' && (!s.child || s.child.open)),
  );
}
