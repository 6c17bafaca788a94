import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { StateStore } from '../infra/state/state-store';
import { ORDER_EVENTS_CHANNEL, OrderEventMessage, parseOrderEventMessage } from './order-event';

export type OrderEventListener = (e: OrderEventMessage) => void;

/**
 * The replica's one subscription to `orders.events`, fanned out to every
 * local listener (the open event streams): N clients cost one Redis
 * subscription, and each message is parsed once. Subscribed on first use and
 * kept until shutdown.
 */
@Injectable()
export class OrderEventHub implements OnModuleDestroy {
  private readonly logger = new Logger('OrderEventHub');
  private readonly listeners = new Set<OrderEventListener>();
  private subscription?: Promise<() => Promise<void>>;
  private closed = false;

  constructor(private readonly store: StateStore) {}

  get listenerCount(): number {
    return this.listeners.size;
  }

  /**
   * Adds `listener`; once this resolves, every event published from then on
   * reaches it. Resolves to the function that removes it. Throws when the
   * store cannot be subscribed to.
   */
  async listen(listener: OrderEventListener): Promise<() => void> {
    if (this.closed) throw new Error('the order event hub is shut down');
    await this.subscribed();
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    const unsubscribe = await this.subscription?.catch(() => undefined);
    this.subscription = undefined;
    await unsubscribe?.().catch(() => undefined);
  }

  private subscribed(): Promise<() => Promise<void>> {
    this.subscription ??= this.store
      .subscribe(ORDER_EVENTS_CHANNEL, (raw) => this.dispatch(raw))
      .catch((err: unknown) => {
        // The next listener tries again.
        this.subscription = undefined;
        throw err;
      });
    return this.subscription;
  }

  private dispatch(raw: string): void {
    const event = parseOrderEventMessage(raw);
    if (!event) {
      this.logger.warn(`ignored a message on ${ORDER_EVENTS_CHANNEL} that is not an order event`);
      return;
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'an order event listener failed');
      }
    }
  }
}
