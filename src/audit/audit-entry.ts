/** One row of the append-only audit trail (docs/architecture.md#everything-audited). */
export interface AuditEntry {
  /** What happened, e.g. `order.accepted`, `order.rejected`, `api_key.created`. */
  action: string;
  /** Who did it: an API key name, an operator, or `system`. */
  actor: string;
  clientOrderId?: string | null;
  strategyId?: string | null;
  symbol?: string | null;
  /** The stable reason code of a refusal. */
  reasonCode?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
  /** When it happened, by the gateway's clock; default: the database's clock at the insert. */
  occurredAt?: Date;
}

/** Who is acting and under which request: threaded from the edge to every audit row. */
export interface ActorContext {
  actor: string;
  requestId?: string | null;
}
