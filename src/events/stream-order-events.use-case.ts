/**
 * GET /api/v1/events: order events as Server-Sent Events (docs/order-lifecycle.md#order-events).
 *
 * Invariants:
 * - a key sees only the events of its strategies; asking for another
 *   strategy is refused (403) rather than answered with a silent stream;
 * - a client resuming from an id gets every event written after it (up to
 *   the replay limit per connection), then live events, with no event sent
 *   twice in one connection: the live subscription is taken before the replay
 *   is read, and live events the replay already held are dropped;
 * - every stream ends on client disconnect, on a backed-up client and on
 *   shutdown, so nothing holds the replica open;
 * - a key holds at most SSE_MAX_STREAMS_PER_KEY streams across replicas, and
 *   a revoked key's streams end (KeyStreamRegistry, docs/security.md#event-streams).
 */
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Principal } from '../auth/permission';
import { DomainError, ForbiddenError } from '../common/domain-error';
import { Scheduler } from '../infra/clock/scheduler';
import { EventSink, EventStreamSession } from './event-stream.session';
import { KeyStreamRegistry, StreamAdmission } from './key-streams';
import { ORDER_EVENTS_OPTIONS, OrderEventsOptions } from './events.options';
import { OrderEventFilter, OrderEventMessage, toOrderEventMessage } from './order-event';
import { OrderEventHub } from './order-event.hub';
import { OrderEventRepository } from './persistence/order-event.repository';

export interface StreamRequest {
  /** The key as presented, so the stream can confirm it is still valid while it runs. */
  presentedKey: string;
  strategyId?: string;
  symbol?: string;
  /** Replay the events after this id first (Last-Event-ID or since_id). */
  afterId?: number;
}

export interface OpenStream {
  session: EventStreamSession;
  /** Called when the client goes away. */
  close(): void;
}

@Injectable()
export class StreamOrderEventsUseCase implements OnModuleDestroy {
  private readonly logger = new Logger('OrderEventStream');
  private readonly sessions = new Set<EventStreamSession>();
  private shuttingDown = false;

  constructor(
    private readonly hub: OrderEventHub,
    private readonly events: OrderEventRepository,
    @Inject(ORDER_EVENTS_OPTIONS) private readonly options: OrderEventsOptions,
    private readonly scheduler: Scheduler,
    private readonly keyStreams: KeyStreamRegistry,
  ) {}

  get openStreams(): number {
    return this.sessions.size;
  }

  /**
   * Opens a stream on `sink`. Throws (before anything is sent, so the caller
   * can still answer with an error) when the request is not allowed or the
   * events cannot be read.
   */
  async open(principal: Principal, req: StreamRequest, sink: EventSink): Promise<OpenStream> {
    if (req.strategyId !== undefined && !principal.canAccessStrategy(req.strategyId)) {
      throw new ForbiddenError(
        'STRATEGY_FORBIDDEN',
        `This API key may not see the events of strategy "${req.strategyId}"`,
      );
    }
    if (this.shuttingDown) throw unavailable('the gateway is shutting down');
    const filter: OrderEventFilter = {
      strategyId: req.strategyId,
      symbol: req.symbol,
      strategyScope: principal.strategyScope,
    };
    const admission: StreamAdmission = await this.keyStreams.admit(principal, req.presentedKey);
    const session = new EventStreamSession(sink, filter, this.options, req.afterId, this.scheduler);
    let stopListening: () => void;
    try {
      // Listening first: whatever is published while the replay is read is held, not missed.
      stopListening = await this.hub.listen((e) => session.offer(e));
    } catch (err) {
      void admission.release();
      this.logger.warn({ err: (err as Error).message }, 'order events: cannot subscribe to the state store');
      throw unavailable('the state store cannot be reached');
    }
    admission.attach(session);
    session.onEnd((reason) => {
      stopListening();
      void admission.release();
      this.sessions.delete(session);
      if (reason === 'slow_consumer') this.logger.warn(`order events: dropped a stream client that stopped reading`);
    });
    this.sessions.add(session);
    try {
      let replay: OrderEventMessage[] = [];
      let truncated = false;
      if (req.afterId !== undefined) {
        const limit = this.options.replayLimit;
        const rows = await this.events.listAfter(req.afterId, filter, limit + 1);
        truncated = rows.length > limit;
        replay = rows.slice(0, limit).map(toOrderEventMessage);
      }
      // Shutdown may have ended the session while the replay was read; answer rather than leave it hanging.
      if (session.ended) throw unavailable('the gateway is shutting down');
      session.start(replay, truncated);
    } catch (err) {
      session.end('shutdown');
      throw err;
    }
    return { session, close: () => session.end('client_closed') };
  }

  /** Ends every stream, so the HTTP server can close. */
  onModuleDestroy(): void {
    this.shuttingDown = true;
    for (const session of [...this.sessions]) session.end('shutdown');
  }
}

function unavailable(why: string): DomainError {
  return new DomainError('unavailable', 'EVENTS_UNAVAILABLE', `The order event stream is unavailable: ${why}`);
}
