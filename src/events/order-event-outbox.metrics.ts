import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { outboxBacklogSource } from '../infra/metrics/scrape-gauges';
import { OrderEventRepository } from './persistence/order-event.repository';

/** Counting stops here: a larger backlog reads as this many (the alert fires long before). */
export const OUTBOX_BACKLOG_CAP = 100_000;

/**
 * The outbox backlog gauges (docs/operations.md#metrics), read from PostgreSQL
 * at scrape time: every replica reports the same shared outbox.
 */
@Injectable()
export class OrderEventOutboxMetrics implements OnApplicationBootstrap, OnApplicationShutdown {
  private unbind?: () => void;

  constructor(private readonly events: OrderEventRepository) {}

  onApplicationBootstrap(): void {
    this.unbind = outboxBacklogSource.bind(() => this.events.backlog(OUTBOX_BACKLOG_CAP));
  }

  onApplicationShutdown(): void {
    this.unbind?.();
  }
}
