import { Scheduler, SystemScheduler, TaskHandle } from '../infra/clock/scheduler';
import type { KeyStreamEndReason } from './key-streams';
import { matchesFilter, OrderEventFilter, OrderEventMessage, sseFrame } from './order-event';

/** Where a stream's bytes go: the HTTP response, behind what the session needs of it. */
export interface EventSink {
  /** Sends the response head. */
  open(): void;
  write(chunk: string): void;
  /** Bytes written but not yet taken by the socket. */
  readonly bufferedBytes: number;
  end(): void;
}

export interface SessionLimits {
  heartbeatIntervalMs: number;
  maxBufferedBytes: number;
  clientRetryMs: number;
}

/** Live events held while the replay is read; past this the client is far behind anyway. */
const MAX_HELD_EVENTS = 10_000;

/**
 * One client's event stream. Live events are held from the moment it is
 * created; `start` sends the replay, then the held events the replay did not
 * already contain, then streams live. A replay that hit its limit ends the
 * stream after it, so the client resumes from its last id (EventSource does
 * so by itself) instead of silently skipping the rest.
 */
export class EventStreamSession {
  private state: 'holding' | 'live' | 'ended' = 'holding';
  private opened = false;
  private held: OrderEventMessage[] = [];
  /** Replayed events may still be published afterwards; they are not sent twice. */
  private readonly replayed = new Set<number>();
  private heartbeat?: TaskHandle;
  private readonly endListeners: Array<(reason: SessionEndReason) => void> = [];

  /**
   * `afterId`: the client has everything up to it, so a live event at or
   * below it (one published late, after a later one) is not sent again.
   */
  constructor(
    private readonly sink: EventSink,
    private readonly filter: OrderEventFilter,
    private readonly limits: SessionLimits,
    private readonly afterId?: number,
    private readonly scheduler: Scheduler = new SystemScheduler(),
  ) {}

  get ended(): boolean {
    return this.state === 'ended';
  }

  onEnd(listener: (reason: SessionEndReason) => void): void {
    this.endListeners.push(listener);
  }

  /** A live event from the hub. */
  offer(e: OrderEventMessage): void {
    if (this.state === 'ended' || !matchesFilter(e, this.filter)) return;
    if (this.afterId !== undefined && e.id <= this.afterId) return;
    if (this.state === 'holding') {
      if (this.held.length >= MAX_HELD_EVENTS) this.end('slow_consumer');
      else this.held.push(e);
      return;
    }
    this.send(e);
  }

  /** Opens the response and sends the replay (`truncated`: more events followed it), then goes live. */
  start(replay: OrderEventMessage[], truncated: boolean): void {
    if (this.state !== 'holding') return;
    this.opened = true;
    this.sink.open();
    this.sink.write(`retry: ${this.limits.clientRetryMs}\n\n`);
    for (const e of replay) {
      this.replayed.add(e.id);
      this.send(e);
      if (this.ended) return;
    }
    if (truncated) {
      this.end('replay_truncated');
      return;
    }
    const held = this.held;
    this.held = [];
    this.state = 'live';
    for (const e of held) {
      this.send(e);
      if (this.ended) return;
    }
    this.heartbeat = this.scheduler.every(this.limits.heartbeatIntervalMs, () => this.sink.write(': heartbeat\n\n'), {
      name: 'event-stream heartbeat',
    });
  }

  /** Ends the stream (idempotent). Before `start` nothing is sent, so the caller can still answer with an error. */
  end(reason: SessionEndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.held = [];
    this.heartbeat?.cancel();
    const note = CLOSING_NOTES[reason];
    if (this.opened && note) this.sink.write(`: closed: ${note}\n\n`);
    if (this.opened) this.sink.end();
    for (const listener of this.endListeners) listener(reason);
  }

  private send(e: OrderEventMessage): void {
    if (this.state === 'live' && this.replayed.has(e.id)) return;
    this.sink.write(sseFrame(e));
    // A client that does not read would make the replica hold its backlog; it resumes by Last-Event-ID instead.
    if (this.sink.bufferedBytes > this.limits.maxBufferedBytes) this.end('slow_consumer');
  }
}

export type SessionEndReason =
  | 'client_closed'
  | 'replay_truncated'
  | 'slow_consumer'
  | 'shutdown'
  /** The API key was revoked, could not be confirmed, or its stream slot was lost (docs/security.md#event-streams). */
  | KeyStreamEndReason;

/** A last comment line, for a human reading the stream, when the gateway ends it for the key's sake. */
const CLOSING_NOTES: Partial<Record<SessionEndReason, string>> = {
  key_revoked: 'the API key was revoked',
  key_unverified: 'the API key could not be confirmed',
  lease_lost: 'too many open streams for this API key',
};
