/**
 * Which outbox rows the live fan-out reads next, given the event ids announced
 * on the order-event channel (docs/security.md#redis-channels-and-deployments).
 * Pure: the hub does the reading.
 *
 * An announced id is only a hint that something was written. Invariants:
 * - nothing is delivered that was not read from the outbox, and the cursor
 *   moves only to ids actually read there: an id absent from the outbox, or
 *   far above its last event, moves nothing and makes nothing skip;
 * - events above the cursor are read in id order, as a range up to the
 *   announced id; an id announced at or below the cursor (an event whose
 *   transaction committed after a later one was read) is read on its own;
 * - no id is delivered twice (the last `rememberDelivered` are remembered);
 * - what is waiting to be read stays bounded, however many ids are announced.
 */
export type FanOutRead = { kind: 'range'; afterId: number; throughId: number } | { kind: 'ids'; ids: number[] };

export interface FanOutLimits {
  /** Ids at or below the cursor waiting to be read; more are dropped (the client resumes by Last-Event-ID). */
  maxWaitingIds: number;
  /** Delivered ids remembered, so none goes out twice. */
  rememberDelivered: number;
}

export const DEFAULT_FAN_OUT_LIMITS: FanOutLimits = { maxWaitingIds: 10_000, rememberDelivered: 10_000 };

export class FanOutCursor {
  private cursor: number;
  /** Highest id announced above the cursor; 0 when none is waiting. */
  private wantedThrough = 0;
  private readonly wantedIds = new Set<number>();
  /** Insertion-ordered, so the oldest is forgotten first. */
  private readonly delivered = new Set<number>();

  /** `cursor`: the last event already written when listening started (none of those is read by range). */
  constructor(
    cursor: number,
    private readonly limits: FanOutLimits = DEFAULT_FAN_OUT_LIMITS,
  ) {
    this.cursor = cursor;
  }

  get position(): number {
    return this.cursor;
  }

  /** Moves the cursor up to `id` (never down) and forgets what was waiting at or below it: nobody was listening. */
  skipTo(id: number): void {
    this.cursor = Math.max(this.cursor, id);
    if (this.wantedThrough <= this.cursor) this.wantedThrough = 0;
    this.wantedIds.clear();
  }

  announce(id: number): void {
    if (id > this.cursor) this.wantedThrough = Math.max(this.wantedThrough, id);
    else if (!this.delivered.has(id) && this.wantedIds.size < this.limits.maxWaitingIds) this.wantedIds.add(id);
  }

  /** The next read, or undefined when nothing is waiting. */
  next(): FanOutRead | undefined {
    if (this.wantedThrough > this.cursor) {
      return { kind: 'range', afterId: this.cursor, throughId: this.wantedThrough };
    }
    this.wantedThrough = 0;
    const ids = [...this.wantedIds].filter((id) => !this.delivered.has(id)).sort((a, b) => a - b);
    this.wantedIds.clear();
    return ids.length ? { kind: 'ids', ids } : undefined;
  }

  /**
   * After `read` returned the rows with `foundIds` (ascending): the ids to
   * deliver, in order. `complete`: a range read returned all there was (fewer
   * rows than its limit).
   */
  took(read: FanOutRead, foundIds: readonly number[], complete: boolean): number[] {
    const fresh: number[] = [];
    for (const id of foundIds) {
      if (this.delivered.has(id)) continue;
      fresh.push(id);
      this.remember(id);
    }
    if (read.kind === 'range') {
      const last = foundIds.at(-1);
      if (last !== undefined) this.cursor = Math.max(this.cursor, last);
      // Announced while the range was read: read again from the cursor (what was delivered is not repeated).
      if (complete && this.wantedThrough <= read.throughId) this.wantedThrough = 0;
    }
    return fresh;
  }

  /** A read that failed: what it was to read is waiting again. */
  failed(read: FanOutRead): void {
    if (read.kind === 'range') this.wantedThrough = Math.max(this.wantedThrough, read.throughId);
    else for (const id of read.ids) this.announce(id);
  }

  private remember(id: number): void {
    this.delivered.add(id);
    if (this.delivered.size > this.limits.rememberDelivered) {
      const oldest = this.delivered.values().next().value;
      if (oldest !== undefined) this.delivered.delete(oldest);
    }
  }
}
