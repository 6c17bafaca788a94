import { forbidden, lostResponse, rateLimited } from './sim-errors';

/** Broker faults the sim can be told to inject (sim-broker.client.ts `failNext`). */
export type SimFaultKind = 'unknown_outcome' | 'retryable' | 'rejected';

export interface SimFaultOptions {
  /** unknown_outcome: the order is accepted (and trades) but the answer is lost. */
  acceptThenLose?: boolean;
  /** rejected: acknowledge the order as `new`, then reject it on the stream (a venue-side reject). */
  afterAck?: boolean;
  /** retryable: the Retry-After the broker announces. Default 1000. */
  retryAfterMs?: number;
  message?: string;
}

export interface SimFault extends SimFaultOptions {
  kind: SimFaultKind;
}

/** A fault that refuses the submit before the order reaches the book throws it here. */
export function throwFaultBeforeAccept(fault: SimFault | undefined): void {
  if (fault?.kind === 'retryable') {
    throw rateLimited(fault.message ?? 'too many requests (simulated)', fault.retryAfterMs ?? 1000);
  }
  if (fault?.kind === 'rejected' && !fault.afterAck) {
    throw forbidden(fault.message ?? 'order rejected (simulated broker fault)');
  }
  if (fault?.kind === 'unknown_outcome' && !fault.acceptThenLose) {
    throw lostResponse(fault.message ?? 'no answer from the broker (simulated)');
  }
}
