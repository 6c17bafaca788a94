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
