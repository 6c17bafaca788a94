/**
 * Sends written-ahead orders within the shared broker budget
 * (docs/broker-pacing.md). An order that finds room is sent at once, as
 * before (the caller answers with the broker's word). One that does not is
 * queued: held in PostgreSQL (`metadata.paced_until`, so the resolver of
 * unsent orders leaves it alone while the hold lasts) and sent when its turn
 * comes, submissions oldest first, behind any cancel. Before it is sent it is
 * claimed, so a cancel that finds it still queued ends it locally and it is
 * never sent. A restart loses the in-memory queue, not the orders: their
 * holds lapse and the resolver sends them.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { BrokerPacer } from '../../broker/pacing/broker-pacer';
import { holdMs } from '../../broker/pacing/pacing.decision';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { Order } from '../../trading/order';
import { OrderSendRepository } from '../persistence/order-send.repository';
import { DispatchOrderUseCase, DispatchResult } from '../use-cases/dispatch-order.use-case';

@Injectable()
export class PacedDispatchService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('PacedDispatch');
  private readonly sending = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly pacer: BrokerPacer,
    private readonly sends: OrderSendRepository,
    private readonly dispatcher: DispatchOrderUseCase,
    private readonly clock: Clock,
  ) {}

  /**
   * The hold an order gets when it is to be written queued: set when the budget is known spent for now
   * (`BrokerPacer.spent`), so the order-entry door writes the hold with the order instead of after it;
   * null when the order is to try for a slot after it is written.
   */
  holdIfSpent(): Date | null {
    if (!this.pacer.spent('submit')) return null;
    return this.holdUntil();
  }

  /**
   * The dispatch result when the order went at once; null when it was queued (answer 202). An order
   * written with its hold (`holdIfSpent`) is queued at once.
   */
  async dispatchOrQueue(order: Order): Promise<DispatchResult | null> {
    if (order.metadata.paced_until !== undefined) {
      void this.sendInTurn(order.clientOrderId);
      return null;
    }
    let room: boolean;
    try {
      room = await this.pacer.tryAcquire('submit');
    } catch {
      // The budget cannot be read (Redis unreachable): not a full budget, so no hold of a window or two.
      // The dispatch fails retryably and the order is tried again within a second or so of the store's return.
      return this.dispatcher.dispatch(order);
    }
    if (room) return this.pacer.withSlot(() => this.dispatcher.dispatch(order));
    await this.sends.holdForPacing(order.clientOrderId, this.holdUntil());
    void this.sendInTurn(order.clientOrderId);
    return null;
  }

  /** Long enough for the submissions queued ahead to go at the budget, plus a window and the submit timeout. */
  private holdUntil(): Date {
    const ahead = this.pacer.backlog().submit;
    const { budget } = this.pacer.usage();
    const hold = holdMs(ahead, budget, this.pacer.windowMs, this.config.broker.submitTimeoutMs);
    return new Date(this.clock.now().getTime() + hold);
  }

  /** Queued orders being sent finish before the database closes; those still waiting stay held for the resolver. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.sending]);
  }

  private async sendInTurn(clientOrderId: string): Promise<void> {
    try {
      await this.pacer.acquire('submit');
    } catch {
      return; // the budget could not be read, or shutdown: the hold lapses and the resolver sends it
    }
    if (this.stopped) return;
    const send = (async () => {
      const claimed = await this.sends.claimQueued(clientOrderId, this.clock.now());
      // Canceled while queued, or already sent by the resolver: nothing to send (the slot is spent).
      if (!claimed) return;
      await this.pacer.withSlot(() => this.dispatcher.dispatch(claimed));
    })().catch((err: unknown) =>
      this.logger.error({ err, client_order_id: clientOrderId, msg: 'sending a queued order failed' }),
    );
    this.sending.add(send);
    await send;
    this.sending.delete(send);
  }
}
