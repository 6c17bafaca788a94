/**
 * Keeps live orders in step with the broker, on the leader replica only (so
 * scaling out does not multiply broker calls):
 * - the broker's update stream feeds applyOrderUpdate; after every
 *   (re)connection the open orders are re-read, since streams do not replay;
 * - every ORDER_POLL_INTERVAL_SECONDS: written-ahead orders nobody is sending
 *   (a crash between insert and submit, a due 429 retry) are looked up and
 *   adopted or sent; `submitted_unconfirmed` orders are looked up by
 *   client_order_id and, when still unknown after a while, sent again with the
 *   same id (a duplicate answer then proves the first landed); open orders are
 *   polled.
 * Everything it does is idempotent, because leadership can move between a
 * check and a write.
 */
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { BROKER_CLIENT, BrokerClient, OrderUpdate } from '../../broker/broker-client.port';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { Clock } from '../../infra/clock/clock';
import { Scheduler, TaskHandle } from '../../infra/clock/scheduler';
import { LeaderElection } from '../../infra/leader/leader-election.service';
import { AT_BROKER_OPEN_STATUSES } from '../../trading/order-state-machine';
import { OrderStatus } from '../../trading/order-status';
import { sendQuietSince } from '../domain/send-window';
import { OrderSendRepository } from '../persistence/order-send.repository';
import { OrderRepository } from '../persistence/order.repository';
import { ApplyOrderUpdateUseCase } from '../use-cases/apply-order-update.use-case';
import { DispatchOrderUseCase } from '../use-cases/dispatch-order.use-case';
import { OrderUpdateQueue } from './order-update-queue';

/** Open at the broker: what polling follows (the unsent and unconfirmed are the resolver's). */
const POLLED: OrderStatus[] = [...AT_BROKER_OPEN_STATUSES];
const BATCH = 100;
/** How long an unconfirmed order is only looked up before it is sent again with the same id. */
const RESEND_UNCONFIRMED_AFTER_MS = 10_000;

@Injectable()
export class OrderSyncService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OrderSync');
  private timer?: TaskHandle;
  private running = false;
  private stopped = false;
  private readonly unsubscribe: Array<() => void> = [];
  /** Where the round-robin poll of open orders resumes. */
  private pollCursor = '';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(BROKER_CLIENT) private readonly broker: BrokerClient,
    private readonly leader: LeaderElection,
    private readonly orders: OrderRepository,
    private readonly sends: OrderSendRepository,
    private readonly dispatcher: DispatchOrderUseCase,
    private readonly updates: ApplyOrderUpdateUseCase,
    private readonly clock: Clock,
    private readonly scheduler: Scheduler,
    private readonly queue: OrderUpdateQueue,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.dryRun) return; // nothing is ever sent, so there is nothing to follow
    this.unsubscribe.push(
      this.leader.onElected(() => this.startStream()),
      this.leader.onDemoted(() => void this.broker.disconnect()),
    );
    this.timer = this.scheduler.every(this.config.orderPollIntervalSeconds * 1000, () => this.tick(), {
      name: 'order-sync',
    });
  }

  /** Before the database closes: no new passes, and queued stream updates are applied. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    for (const u of this.unsubscribe) u();
    await this.queue.drain();
  }

  /** One pass of resolution and polling; skipped when the previous one is still running. */
  async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      await this.leader.whenLeader(async () => {
        await this.resolveUnsent();
        await this.resolveUnconfirmed();
        await this.pollOpen(false);
      });
    } catch (err) {
      this.logger.error({ err, msg: 'order sync pass failed' });
    } finally {
      this.running = false;
    }
  }

  private startStream(): void {
    this.broker
      .connect({
        // In order per symbol (so per order), side by side across symbols; a symbol's waiting updates go together.
        onUpdate: (u: OrderUpdate) =>
          this.queue.push({ source: 'stream', order: u.order, at: u.at, execution: u.execution }),
        onConnected: (reconnect) => {
          if (reconnect)
            void this.pollOpen(true).catch((err: unknown) => this.logger.error({ err, msg: 're-sync failed' }));
        },
      })
      .catch((err: unknown) => this.logger.error({ err, msg: 'broker stream failed to start' }));
  }

  /**
   * Written-ahead orders nobody is sending any more (../domain/send-window.ts): looked up first (an earlier
   * send may have landed), then claimed and sent, or, when a cancel came first, ended locally: a cancel
   * after the claim finds the order being sent and is carried out at the broker once the send lands.
   */
  private async resolveUnsent(): Promise<void> {
    const now = this.clock.now();
    const quietSince = sendQuietSince(now, this.config.broker.submitTimeoutMs);
    for (const order of await this.sends.findDispatchable(now, quietSince, BATCH)) {
      const found = await this.dispatcher.adoptFromBroker(order.clientOrderId, 'submit').catch(() => undefined);
      if (found === undefined) continue; // lookup failed: try next pass
      if (found !== null) continue;
      if (order.metadata.cancel_requested_at) {
        // Canceled before it was ever sent (the claim below refuses it, so nobody sends it).
        await this.updates.recordSubmitOutcome(order.clientOrderId, 'canceled', { reasonCode: 'CANCELED_BEFORE_SEND' });
        continue;
      }
      const claimed = await this.sends.claimUnsent(order.clientOrderId, this.clock.now(), quietSince);
      // Taken meanwhile (the queue sent it, a cancel came): the next pass sees what became of it.
      if (claimed) await this.dispatcher.dispatch(claimed);
    }
  }

  private async resolveUnconfirmed(): Promise<void> {
    const now = this.clock.now();
    for (const order of await this.orders.findStale(['submitted_unconfirmed'], now, BATCH)) {
      const found = await this.dispatcher.adoptFromBroker(order.clientOrderId, 'submit').catch(() => undefined);
      if (found !== null) continue;
      // An order whose cancel was asked for is looked up, never sent again.
      if (order.metadata.cancel_requested_at) continue;
      if (now.getTime() - order.updatedAt.getTime() >= RESEND_UNCONFIRMED_AFTER_MS) {
        // Same client_order_id: if the first attempt landed the broker answers "duplicate" and we adopt it.
        await this.dispatcher.dispatch(order);
      }
    }
  }

  /**
   * Re-reads open orders not heard of for a poll interval (or, after a
   * reconnect, all of them), BATCH per pass, round-robin.
   */
  private async pollOpen(all: boolean): Promise<void> {
    const now = this.clock.now();
    const before = all ? now : new Date(now.getTime() - this.config.orderPollIntervalSeconds * 1000);
    const page = await this.orders.findPageByStatus(POLLED, before, this.pollCursor, BATCH);
    this.pollCursor = page.length === BATCH ? page[page.length - 1].clientOrderId : '';
    for (const order of page) {
      const report = order.brokerOrderId
        ? await this.broker.getOrder(order.brokerOrderId).catch(() => undefined)
        : await this.broker.getOrderByClientOrderId(order.clientOrderId).catch(() => undefined);
      if (report) await this.updates.apply({ source: 'poll', order: report, at: this.clock.now() });
    }
  }
}
