/**
 * The pure decisions of broker pacing (docs/broker-pacing.md): which waiting
 * call is served next, which class a port call belongs to, how far a broker
 * 429 shrinks the budget, and how long a queued order is held back from the
 * resolver of unsent orders.
 */

/** Served in this order: cancels, then submissions, then reads (polling, reconciliation, lookups). */
export type PaceClass = 'cancel' | 'submit' | 'read';

export const PACE_CLASSES: readonly PaceClass[] = ['cancel', 'submit', 'read'];

const RANK: Record<PaceClass, number> = { cancel: 0, submit: 1, read: 2 };

export interface Waiting {
  cls: PaceClass;
  /** Arrival order on this replica: oldest first within a class. */
  seq: number;
}

/** The index of the call to serve next: the highest class, and within it the oldest; -1 when none waits. */
export function nextToServe(waiting: readonly Waiting[]): number {
  let best = -1;
  for (let i = 0; i < waiting.length; i++) {
    const w = waiting[i];
    if (best < 0) {
      best = i;
      continue;
    }
    const b = waiting[best];
    if (RANK[w.cls] < RANK[b.cls] || (RANK[w.cls] === RANK[b.cls] && w.seq < b.seq)) best = i;
  }
  return best;
}

/**
 * The share of the budget kept for cancels: submissions and reads may fill the
 * window only up to `budget - cancelReserve(budget)`, cancels up to the whole
 * budget. So a burst of submissions that fills its share still leaves a
 * cancel room at once, instead of behind a full window. A tenth, at least one
 * call, and none when the budget is a single call.
 */
export function cancelReserve(budget: number): number {
  if (budget <= 1) return 0;
  return Math.max(1, Math.floor(budget / 10));
}

/** How many calls a window may hold when a call of `cls` is let through. */
export function classLimit(cls: PaceClass, budget: number): number {
  return cls === 'cancel' ? budget : budget - cancelReserve(budget);
}

/** Whether a call of `cls` would jump no queue: nothing of its class or a higher one is waiting. */
export function mayGoAhead(cls: PaceClass, waiting: readonly Waiting[]): boolean {
  return !waiting.some((w) => RANK[w.cls] <= RANK[cls]);
}

const CANCELS = new Set(['cancelOrder', 'cancelAllOrders']);
const SUBMITS = new Set(['submitOrder', 'replaceOrder', 'closePosition']);
const READS = new Set([
  'getOrder',
  'getOrderByClientOrderId',
  'listOrders',
  'listPositions',
  'listFills',
  'getAccount',
]);

/** The class of a BrokerClient port method, or null for calls that are not paced (the stream). */
export function classOf(operation: string): PaceClass | null {
  if (CANCELS.has(operation)) return 'cancel';
  if (SUBMITS.has(operation)) return 'submit';
  if (READS.has(operation)) return 'read';
  return null;
}

/**
 * The budget for the rest of the window after the broker answered 429: a
 * tenth below the budget in force (the configured one, or an earlier shrink
 * still in force), never below 1. Each further 429 in the window shrinks it
 * again, so it converges on what the broker really allows (it may count
 * calls this deployment does not make, e.g. another client on the account).
 */
export function shrunkBudget(configured: number, current: number | null): number {
  return Math.max(1, Math.floor(budgetInForce(configured, current) * 0.9));
}

/** The budget in force: the configured one, or a shrink after a 429 while it lasts. */
export function budgetInForce(configured: number, shrunk: number | null): number {
  if (shrunk === null || !Number.isInteger(shrunk) || shrunk < 1) return configured;
  return Math.min(configured, shrunk);
}

/**
 * How long a queued order is held back from the resolver of unsent orders
 * (which would otherwise send it too): long enough for the `ahead` submissions
 * queued before it to go at `budget` per window, plus a window and the submit
 * timeout. After a crash the hold lapses and the resolver sends it.
 */
export function holdMs(ahead: number, budget: number, windowMs: number, submitTimeoutMs: number): number {
  const windows = Math.ceil((Math.max(0, ahead) + 1) / Math.max(1, budget));
  return (windows + 1) * windowMs + submitTimeoutMs;
}
