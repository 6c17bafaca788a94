/**
 * The order state machine (docs/order-lifecycle.md#statuses, docs/order-lifecycle.md#transition-rules): one explicit table of the moves an
 * order's status may make, and the mapping of broker statuses onto the
 * gateway's vocabulary. Pure functions; every status update (stream, webhook,
 * polling, reconciliation, the gateway's own submit path) goes through
 * `transition`.
 *
 * Invariants:
 * 1. Status never moves backwards. The lifecycle has phases:
 *      pending_new < submitted_unconfirmed < submitted < accepted < working < terminal
 *    where "working" is new, partially_filled, pending_cancel, pending_replace,
 *    done_for_day, stopped, suspended and calculated. A report from an earlier
 *    phase is `stale` and ignored (a late `new`, `accepted` or `pending_new`
 *    after partially_filled, filled or canceled changes nothing).
 * 2. Inside the working phase the broker's word moves the order freely, with
 *    two exceptions, both late reports: `new` after `partially_filled` (a
 *    broker never reports an order with fills as `new`) and `new` after
 *    `stopped` (a trade is already guaranteed). `pending_cancel → new` and
 *    `pending_replace → new` are the cancel/replace being rejected;
 *    `done_for_day`, `suspended`, `calculated → new` are the order resuming.
 * 3. A broker's terminal word (filled, canceled, expired, rejected, replaced)
 *    always ends an open order, whatever phase it is in: refusing it would
 *    leave the order open, and polled, for ever.
 * 4. Terminal statuses do not change, with two exceptions, fills that raced
 *    the end of the order (they happen at real venues):
 *      canceled → filled   (the cancel was acknowledged, the execution was already in flight)
 *      expired  → filled   (likewise for an expiry at the end of the day/TIF)
 *      replaced → filled   (the replace was accepted, the old order filled
 *                           first and the broker rejects the replacement)
 *    `canceled/expired → partially_filled` is NOT a status change: an order
 *    canceled after a partial fill stays `canceled` (Alpaca reports exactly
 *    that: canceled with filled_qty > 0). Fills are applied by fill progress
 *    (fill-progress.ts) from the cumulative filled quantity whatever the
 *    status, so no fill is lost because a status report was refused.
 *    `replaced` is terminal for its id (follow replaced_by) but for that fill; `filled`,
 *    `rejected` and the gateway's own outcomes never change.
 * 5. An unknown outcome is resolved only by the broker's word (docs/architecture.md#timeouts-are-not-rejections):
 *    the gateway's own outcomes (dry_run, failed, blocked_kill_switch,
 *    blocked_circuit_breaker, blocked_strategy_halted) are reachable only from `pending_new` (the
 *    write-ahead row that was never sent), never from an order that may be at
 *    the broker (`invalid`).
 * 6. `transition(s, s)` is `same` for every status, so applying a report twice
 *    is applying it once.
 *
 * The table is memoryless: it sees the current status, not the fill history.
 * Fill quantities and prices are fill progress's business.
 */
import { ORDER_STATUSES, OrderStatus } from './order-status';

export function isTerminal(s: OrderStatus): boolean {
  return TERMINAL_STATUSES.has(s);
}

export function isOpen(s: OrderStatus): boolean {
  return OPEN_STATUSES.has(s);
}

/**
 * Alpaca's 17 order statuses onto the gateway's vocabulary.
 *
 * - `pending_new` (routed, not yet acknowledged by the venue) → `submitted`:
 *   the order is at the broker. The gateway's `pending_new` means "written
 *   ahead, not yet sent", and an order the broker holds must never read as
 *   unsent (a sweep would send it again).
 * - `accepted_for_bidding` (the venue is pricing it) → `accepted`: received,
 *   not yet working.
 * - `held` (undocumented; a bracket/OTO leg waiting for its trigger) →
 *   `accepted`: the broker holds it but has not routed it, which is what
 *   `accepted` says; `new` would claim it is working at the venue. Both are
 *   non-terminal and may move on to new/partially_filled/filled.
 */
export const BROKER_STATUS_MAP: ReadonlyMap<string, OrderStatus> = new Map<string, OrderStatus>([
  ['new', 'new'],
  ['partially_filled', 'partially_filled'],
  ['filled', 'filled'],
  ['done_for_day', 'done_for_day'],
  ['canceled', 'canceled'],
  ['expired', 'expired'],
  ['replaced', 'replaced'],
  ['pending_cancel', 'pending_cancel'],
  ['pending_replace', 'pending_replace'],
  ['accepted', 'accepted'],
  ['pending_new', 'submitted'],
  ['accepted_for_bidding', 'accepted'],
  ['stopped', 'stopped'],
  ['rejected', 'rejected'],
  ['suspended', 'suspended'],
  ['calculated', 'calculated'],
  ['held', 'accepted'],
]);

/**
 * Maps a broker-reported status to the vocabulary. Unknown strings (and the
 * gateway's own statuses, which no broker reports) give null: the caller logs
 * them, treats the order as non-terminal and reconciles it over REST.
 */
export function fromBrokerStatus(s: string): OrderStatus | null {
  return BROKER_STATUS_MAP.get(s.trim().toLowerCase()) ?? null;
}

/**
 * Why a report did not change the status:
 * - `same`: already in that status (a replay);
 * - `stale`: the report is from earlier in the lifecycle (it would move backwards);
 * - `terminal`: the order has ended and this is not one of the accepted late fills;
 * - `invalid`: a gateway-only outcome for an order that may already be at the broker.
 */
export type TransitionRefusal = 'same' | 'stale' | 'terminal' | 'invalid';

export interface TransitionResult {
  status: OrderStatus;
  applied: boolean;
  reason?: TransitionRefusal;
}

const set = (...s: OrderStatus[]): ReadonlySet<OrderStatus> => new Set(s);

/** The one explicit table: `TRANSITIONS[current]` is every status an order in `current` may move to. */
export const TRANSITIONS: Readonly<Record<OrderStatus, ReadonlySet<OrderStatus>>> = Object.freeze({
  // --- the gateway's write-ahead row: anything, the broker's word included (it can beat our own ack)
  pending_new: set(
    'submitted',
    'submitted_unconfirmed',
    'dry_run',
    'failed',
    'blocked_kill_switch',
    'blocked_circuit_breaker',
    'blocked_strategy_halted',
    'accepted',
    'new',
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled', // also: canceled locally before it was sent
    'expired', // also: a TWAP slice past its misfire grace
    'rejected',
    'replaced',
  ),
  // --- sent, answer lost: only the broker's word resolves it (never failed/dry_run/blocked)
  submitted_unconfirmed: set(
    'submitted',
    'accepted',
    'new',
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  submitted: set(
    'accepted',
    'new',
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  accepted: set(
    'new',
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  // --- working
  new: set(
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  partially_filled: set(
    // not `new`: a broker never reports an order with fills as new, so it is a late report
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  pending_cancel: set(
    'new', // cancel rejected: back to working
    'partially_filled', // cancel rejected, or a fill won the race
    'pending_replace',
    'done_for_day',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  pending_replace: set(
    'new', // replace rejected
    'partially_filled',
    'pending_cancel',
    'done_for_day',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  done_for_day: set(
    'new', // resumes the next trading day
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'stopped',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  stopped: set(
    // not `new`: a trade is already guaranteed
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'suspended',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  suspended: set(
    'new', // eligible for trading again
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'stopped',
    'calculated',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  calculated: set(
    'new',
    'partially_filled',
    'pending_cancel',
    'pending_replace',
    'done_for_day',
    'stopped',
    'suspended',
    'filled',
    'canceled',
    'expired',
    'rejected',
    'replaced',
  ),
  // --- terminal
  filled: set(),
  canceled: set('filled'), // a fill that raced the cancel
  expired: set('filled'), // a fill that raced the expiry
  rejected: set(),
  // A fill that raced the replace: the broker took the replace, but the old order filled first and the
  // replacement is rejected (Alpaca: "if the old order fills first, the new one is rejected").
  replaced: set('filled'),
  dry_run: set(),
  failed: set(),
  blocked_kill_switch: set(),
  blocked_circuit_breaker: set(),
  blocked_strategy_halted: set(),
});

/**
 * The status sets, derived from the table so they cannot drift from it:
 * - terminal: nothing may follow but a fill that raced the end (`canceled/expired → filled`);
 * - open: everything else (may still change at the broker, or is still to be sent);
 * - gateway outcomes: the gateway's own word, reachable only from the write-ahead row
 *   (`pending_new`), never from an order that may be at the broker: the order never reached one;
 * - maybe unsent: open, but the broker may not know the order yet (written ahead, or sent with
 *   the answer lost) — resolved by sending or by a lookup, not by polling;
 * - at broker: open and known to be at the broker, what polling follows.
 */
const ALL: readonly OrderStatus[] = ORDER_STATUSES;
/** The statuses that can move to `s`. */
const sources = (s: OrderStatus): OrderStatus[] => ALL.filter((from) => TRANSITIONS[from].has(s));
/** The write-ahead row's status: nothing moves to it. */
const INITIAL = ALL.filter((s) => sources(s).length === 0);
const onlyFromInitial = (s: OrderStatus): boolean => {
  const from = sources(s);
  return from.length > 0 && from.every((f) => INITIAL.includes(f));
};

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set(
  ALL.filter((s) => [...TRANSITIONS[s]].every((next) => next === 'filled')),
);
export const OPEN_STATUSES: ReadonlySet<OrderStatus> = new Set(ALL.filter((s) => !TERMINAL_STATUSES.has(s)));
export const GATEWAY_OUTCOMES: ReadonlySet<OrderStatus> = new Set(
  ALL.filter((s) => TERMINAL_STATUSES.has(s) && onlyFromInitial(s)),
);
export const MAYBE_UNSENT_STATUSES: ReadonlySet<OrderStatus> = new Set(
  ALL.filter((s) => OPEN_STATUSES.has(s) && (INITIAL.includes(s) || onlyFromInitial(s))),
);
export const AT_BROKER_OPEN_STATUSES: ReadonlySet<OrderStatus> = new Set(
  ALL.filter((s) => OPEN_STATUSES.has(s) && !MAYBE_UNSENT_STATUSES.has(s)),
);

/**
 * May an order in `current` move to `reported`? When it may, the result is
 * `reported` (applied); otherwise the status stays and `reason` says why.
 */
export function transition(current: OrderStatus, reported: OrderStatus): TransitionResult {
  if (current === reported) return { status: current, applied: false, reason: 'same' };
  if (TRANSITIONS[current].has(reported)) return { status: reported, applied: true };
  let reason: TransitionRefusal;
  if (isTerminal(current)) reason = 'terminal';
  else if (GATEWAY_OUTCOMES.has(reported)) reason = 'invalid';
  else reason = 'stale';
  return { status: current, applied: false, reason };
}
