import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { OrdersModule } from '../orders/orders.module';
import { WebhooksController } from './webhooks.controller';

@Module({ imports: [AuthModule, OrdersModule], controllers: [WebhooksController] })
export class WebhooksModule {}
