/**
 * The sim's update stream: what a broker's WebSocket is to a real adapter.
 *
 * Invariants:
 * - delivery is asynchronous (never inside the call that caused the event) and
 *   in publication order, one handler call at a time (an async handler is
 *   awaited before the next event);
 * - `onConnected` precedes every update of its connection, with `false` on the
 *   first connection and `true` after any later one;
 * - while disconnected nothing is queued: events are lost as on a dropped
 *   socket, and the consumer re-syncs over REST when told it reconnected;
 * - a handler that throws does not stop delivery (the error is kept for inspection).
 */
import type { Scheduler } from '../../infra/clock/scheduler';
import type { BrokerStreamHandlers, OrderUpdate, StreamState } from '../broker-client.port';

type Delivery = { kind: 'update'; update: OrderUpdate; mark: number } | { kind: 'connected'; reconnect: boolean };

/** What the stream waits for before delivering an update (the sim's journal, sim-book.ts). */
export interface DeliveryBarrier {
  /** A token for the changes made so far, taken when an update is published. */
  readonly mark: number;
  /** Resolves once the changes up to `mark` are stored. */
  until(mark: number): Promise<void>;
}

export class SimEventStream {
  private handlers: BrokerStreamHandlers | null = null;
  private current: StreamState = 'disconnected';
  private queue: Delivery[] = [];
  /** Bumped on every disconnect, so a drain in flight stops delivering the old connection's events. */
  private generation = 0;
  private scheduled = false;
  private delivering = false;
  private connectedBefore = false;
  private lostCount = 0;
  private readonly errors: unknown[] = [];
  private idleWaiters: Array<() => void> = [];
  /**
   * Awaited before each update is delivered (the sim's journal: the consumer
   * never hears of a change before it is stored). A failed barrier does not
   * hold delivery up.
   */
  barrier: DeliveryBarrier | null = null;

  /** `scheduler`: delivery runs on a timer of its own (asynchronous, never inside the publishing call). */
  constructor(private readonly scheduler: Scheduler) {}

  state(): StreamState {
    return this.current;
  }

  /** Updates published while nobody was connected. */
  get lost(): number {
    return this.lostCount;
  }

  get handlerErrors(): readonly unknown[] {
    return this.errors;
  }

  /** Nothing queued, scheduled or being delivered. */
  isIdle(): boolean {
    return !this.scheduled && !this.delivering && this.queue.length === 0;
  }

  /** Resolves once nothing is queued, scheduled or being delivered. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  connect(handlers: BrokerStreamHandlers): void {
    if (this.handlers !== null) this.disconnect('superseded by a new connection');
    this.handlers = handlers;
    this.open();
  }

  disconnect(reason = 'client disconnect'): void {
    if (this.handlers === null) return;
    this.close(reason);
    this.handlers = null;
  }

  /** The connection drops under the consumer (it keeps its handlers and is told when it is back). */
  drop(reason: string): void {
    if (this.current !== 'connected') return;
    this.close(reason);
  }

  restore(): void {
    if (this.handlers === null || this.current === 'connected') return;
    this.open();
  }

  publish(update: OrderUpdate): void {
    if (this.current !== 'connected') {
      this.lostCount += 1;
      return;
    }
    this.queue.push({ kind: 'update', update, mark: this.barrier?.mark ?? 0 });
    this.schedule();
  }

  private open(): void {
    this.setState('connecting');
    this.setState('connected');
    this.queue.push({ kind: 'connected', reconnect: this.connectedBefore });
    this.connectedBefore = true;
    this.schedule();
  }

  private close(reason: string): void {
    this.generation += 1;
    this.lostCount += this.queue.filter((d) => d.kind === 'update').length;
    this.queue = [];
    this.setState('disconnected', reason);
  }

  private setState(state: StreamState, reason?: string): void {
    this.current = state;
    try {
      this.handlers?.onStateChange?.(state, reason);
    } catch (error) {
      this.errors.push(error);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.delivering) return;
    this.scheduled = true;
    this.scheduler.after(0, () => {
      this.scheduled = false;
      return this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.delivering = true;
    const generation = this.generation;
    try {
      for (;;) {
        const handlers = this.handlers;
        const next = this.queue[0];
        if (next === undefined || handlers === null || generation !== this.generation) break;
        if (next.kind === 'update' && this.barrier !== null) {
          await this.barrier.until(next.mark).catch(() => undefined);
          if (this.handlers !== handlers || generation !== this.generation) break;
        }
        this.queue.shift();
        try {
          if (next.kind === 'update') await handlers.onUpdate(next.update);
          else await handlers.onConnected(next.reconnect);
        } catch (error) {
          this.errors.push(error);
        }
      }
    } finally {
      this.delivering = false;
      if (this.queue.length > 0) this.schedule();
      else this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
