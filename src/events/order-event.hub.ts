import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Scheduler, TaskHandle } from '../infra/clock/scheduler';
import { StateStore } from '../infra/state/state-store';
import { FanOutCursor, FanOutRead } from './fan-out-cursor';
import { ORDER_EVENTS_CHANNEL, OrderEventMessage, parseAnnouncedEventId, toOrderEventMessage } from './order-event';
import { OrderEventRepository } from './persistence/order-event.repository';

export type OrderEventListener = (e: OrderEventMessage) => void;

/** Rows read from the outbox per query of the fan-out. */
const READ_BATCH = 500;
/**
 * An id at or below the cursor is read only if its event is being published
 * (or was marked published this recently: the message goes out just before the
 * mark commits). An older one announced again is ignored; a forged repeat of a
 * very recent one is a duplicate, which at-least-once delivery allows anyway.
 */
const ANNOUNCED_WITHIN_SECONDS = 10;
/** After a failed outbox read, the next attempt (announcements also retry at once). */
const RETRY_MS = 1_000;

/**
 * The replica's one subscription to `orders.events`, fanned out to every
 * local listener (the open event streams): N clients cost one Redis
 * subscription. Subscribed on first use and kept until shutdown.
 *
 * A message on the channel is only a hint: the hub takes the event id from it
 * and reads the events from this deployment's own outbox (FanOutCursor says
 * which), so a forged or foreign message never reaches a client, nor moves
 * the id a client resumes from (docs/security.md#redis-channels-and-deployments).
 * Reads are serial and coalesced: a batch of announcements costs one query.
 */
@Injectable()
export class OrderEventHub implements OnModuleDestroy {
  private readonly logger = new Logger('OrderEventHub');
  private readonly listeners = new Set<OrderEventListener>();
  private subscription?: Promise<() => Promise<void>>;
  private cursor?: Promise<FanOutCursor>;
  private draining = false;
  /** listen() calls under way: announcements are kept for them. */
  private joining = 0;
  private retry?: TaskHandle;
  private failing = false;
  private closed = false;

  constructor(
    private readonly store: StateStore,
    private readonly events: OrderEventRepository,
    private readonly scheduler: Scheduler,
  ) {}

  get listenerCount(): number {
    return this.listeners.size;
  }

  /**
   * Adds `listener`; once this resolves, every event written and announced
   * from then on reaches it. Resolves to the function that removes it.
   * Throws when the store cannot be subscribed to or the outbox cannot be read.
   */
  async listen(listener: OrderEventListener): Promise<() => void> {
    if (this.closed) throw new Error('the order event hub is shut down');
    await this.subscribed();
    this.joining++;
    try {
      const cursor = await this.ready();
      // Nobody listened until now, so earlier announcements were not read: start from the outbox's end.
      // Announcements during this read are kept (joining), so nothing written meanwhile is missed.
      if (!this.listeners.size) cursor.skipTo(await this.events.maxId());
      this.listeners.add(listener);
    } finally {
      this.joining--;
    }
    return () => void this.listeners.delete(listener);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.retry?.cancel();
    const unsubscribe = await this.subscription?.catch(() => undefined);
    this.subscription = undefined;
    await unsubscribe?.().catch(() => undefined);
  }

  private get listening(): boolean {
    return this.listeners.size > 0 || this.joining > 0;
  }

  private subscribed(): Promise<() => Promise<void>> {
    this.subscription ??= this.store
      .subscribe(ORDER_EVENTS_CHANNEL, (raw) => this.announced(raw))
      .catch((err: unknown) => {
        // The next listener tries again.
        this.subscription = undefined;
        throw err;
      });
    return this.subscription;
  }

  private ready(): Promise<FanOutCursor> {
    this.cursor ??= this.events
      .maxId()
      .then((id) => new FanOutCursor(id))
      .catch((err: unknown) => {
        this.cursor = undefined;
        throw err;
      });
    return this.cursor;
  }

  private announced(raw: string): void {
    const id = parseAnnouncedEventId(raw);
    if (id === undefined) {
      this.logger.warn(`ignored a message on ${ORDER_EVENTS_CHANNEL} that announces no event id`);
      return;
    }
    if (!this.listening || !this.cursor) return;
    void this.cursor.then(
      (cursor) => {
        cursor.announce(id);
        void this.drain(cursor);
      },
      () => undefined,
    );
  }

  /** Reads what the cursor asks for until nothing waits; one drain at a time. */
  private async drain(cursor: FanOutCursor): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let read = cursor.next(); read && !this.closed; read = cursor.next()) {
        if (!this.listening) {
          cursor.skipTo(cursor.position);
          return;
        }
        if (!(await this.readAndDispatch(cursor, read))) return;
      }
    } finally {
      this.draining = false;
    }
  }

  private async readAndDispatch(cursor: FanOutCursor, read: FanOutRead): Promise<boolean> {
    let rows;
    try {
      rows =
        read.kind === 'range'
          ? await this.events.listRange(read.afterId, read.throughId, READ_BATCH)
          : await this.events.findAnnounced(read.ids, ANNOUNCED_WITHIN_SECONDS);
    } catch (err) {
      cursor.failed(read);
      if (!this.failing) {
        this.failing = true;
        this.logger.warn({ err: (err as Error).message }, 'order events: cannot read the outbox for open streams');
      }
      this.retry?.cancel();
      this.retry = this.scheduler.after(RETRY_MS, () => this.drain(cursor), { name: 'order-event fan-out retry' });
      return false;
    }
    this.failing = false;
    const complete = read.kind === 'ids' || rows.length < READ_BATCH;
    const fresh = new Set(
      cursor.took(
        read,
        rows.map((r) => r.id),
        complete,
      ),
    );
    for (const row of rows) if (fresh.has(row.id)) this.dispatch(toOrderEventMessage(row));
    return true;
  }

  private dispatch(event: OrderEventMessage): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'an order event listener failed');
      }
    }
  }
}
