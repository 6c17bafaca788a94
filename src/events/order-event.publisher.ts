/**
 * Publishes the order-event outbox to the state store's `orders.events`
 * channel (docs/order-lifecycle.md#order-events). Runs on every replica.
 *
 * Invariants:
 * - an event is marked published only after the store accepted it, in the
 *   transaction that claimed it: a crash or a restart loses none (at least
 *   once; consumers dedupe on `id`);
 * - replicas never publish the same claim twice: one publishes at a time
 *   (advisory lock) and claimed rows are locked (SKIP LOCKED);
 * - events go out in id order, so the events of one order keep their order.
 */
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Scheduler } from '../infra/clock/scheduler';
import { StateStore } from '../infra/state/state-store';
import { ORDER_EVENTS_OPTIONS, OrderEventsOptions } from './events.options';
import { ORDER_EVENTS_CHANNEL, StoredOrderEvent, toOrderEventMessage } from './order-event';
import { OrderEventRepository, PublishBatchResult } from './persistence/order-event.repository';

@Injectable()
export class OrderEventPublisher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OrderEventPublisher');
  private loop?: Promise<void>;
  private running = false;
  private kicked = false;
  private wake?: () => void;
  private failing = false;

  constructor(
    private readonly events: OrderEventRepository,
    private readonly store: StateStore,
    @Inject(ORDER_EVENTS_OPTIONS) private readonly options: OrderEventsOptions,
    private readonly scheduler: Scheduler,
  ) {}

  onApplicationBootstrap(): void {
    if (this.options.startPublisher) this.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops the loop; resolves once a batch in flight has committed or rolled back. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Looks for unpublished events now rather than at the next tick (e.g. right after a commit). */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** One claim-and-publish transaction. */
  async publishOnce(): Promise<PublishBatchResult> {
    return this.events.publishBatch(this.options.publishBatchSize, (batch) => this.publishAll(batch));
  }

  /**
   * Sends the whole batch at once (one pipeline on one connection, in order)
   * and answers how many went out before the first failure. Later ones that
   * Redis did take are published again next time: at least once.
   */
  private async publishAll(batch: StoredOrderEvent[]): Promise<number> {
    const { published, error } = await this.store.publishMany(
      ORDER_EVENTS_CHANNEL,
      batch.map((e) => JSON.stringify(toOrderEventMessage(e))),
    );
    if (published < batch.length) this.reportFailure(error);
    return published;
  }

  private async run(): Promise<void> {
    let backoffMs = this.options.publishIntervalMs;
    while (this.running) {
      this.kicked = false;
      let more = false;
      try {
        const r = await this.publishOnce();
        more = r.claimed === this.options.publishBatchSize && r.published === r.claimed;
        if (r.published === r.claimed) this.reportRecovery();
        backoffMs = r.published < r.claimed ? this.backoff(backoffMs) : this.options.publishIntervalMs;
      } catch (err) {
        this.reportFailure(err);
        backoffMs = this.backoff(backoffMs);
      }
      // A full batch means a backlog: keep draining without waiting.
      if (this.running && !more && !this.kicked) await this.sleep(backoffMs);
    }
  }

  private backoff(current: number): number {
    return Math.min(current * 2, this.options.publishMaxBackoffMs);
  }

  /** Until `ms` pass or `kick`/`stop` wakes the loop. */
  private async sleep(ms: number): Promise<void> {
    const wakeUp = new AbortController();
    this.wake = () => wakeUp.abort();
    await this.scheduler.sleep(ms, wakeUp.signal);
    this.wake = undefined;
  }

  /** Logged once per outage, not on every tick. */
  private reportFailure(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.logger.warn(
      { err: err instanceof Error ? err.message : String(err) },
      'order events: publishing failed; unpublished events stay in the outbox and are retried',
    );
  }

  private reportRecovery(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.log('order events: publishing recovered');
  }
}
