import { Module } from '@nestjs/common';
import { OrderEventRepository } from './persistence/order-event.repository';

@Module({ providers: [OrderEventRepository], exports: [OrderEventRepository] })
export class EventsModule {}
