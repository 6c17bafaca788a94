import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { OrdersModule } from '../orders/orders.module';
import { WebhooksController } from './webhooks.controller';

@Module({ imports: [AuditModule, AuthModule, OrdersModule], controllers: [WebhooksController] })
export class WebhooksModule {}
