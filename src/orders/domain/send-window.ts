/**
 * Who may be sending a written-ahead order (`pending_new`, not queued for the
 * broker budget): the request that wrote it, or the resolver that claimed it,
 * each within a send's time (the submit timeout, plus slack) of the order's
 * last change. Past that, nobody is: the resolver may claim it, and a cancel
 * may end it locally. A claim and a cancel request are each one UPDATE of the
 * order's row, so of the two exactly one comes first: a claimed order's cancel
 * is carried out at the broker once the send lands, and a cancelled one is
 * never claimed (docs/order-lifecycle.md#cancels).
 */
export const SEND_SLACK_MS = 2_000;

/** Orders last changed before this are in nobody's hands for sending. */
export function sendQuietSince(now: Date, submitTimeoutMs: number): Date {
  return new Date(now.getTime() - submitTimeoutMs - SEND_SLACK_MS);
}
