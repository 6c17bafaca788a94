import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ApiKeyService } from '../auth/api-key.service';
import { EventsController } from './events.controller';
import { KeyStreamRegistry, KeyVerifier } from './key-streams';
import { DEFAULT_ORDER_EVENTS_OPTIONS, ORDER_EVENTS_OPTIONS } from './events.options';
import { OrderEventOutboxMetrics } from './order-event-outbox.metrics';
import { OrderEventHub } from './order-event.hub';
import { OrderEventPublisher } from './order-event.publisher';
import { OrderEventRepository } from './persistence/order-event.repository';
import { StreamOrderEventsUseCase } from './stream-order-events.use-case';

/**
 * Order events (docs/order-lifecycle.md#order-events): the outbox written with each order change, its
 * publisher to `orders.events`, and the Server-Sent Events stream.
 */
@Module({
  imports: [AuthModule],
  controllers: [EventsController],
  providers: [
    { provide: ORDER_EVENTS_OPTIONS, useValue: DEFAULT_ORDER_EVENTS_OPTIONS },
    OrderEventRepository,
    OrderEventPublisher,
    OrderEventOutboxMetrics,
    OrderEventHub,
    StreamOrderEventsUseCase,
    KeyStreamRegistry,
    { provide: KeyVerifier, useExisting: ApiKeyService },
  ],
  exports: [OrderEventRepository, OrderEventPublisher],
})
export class EventsModule {}
