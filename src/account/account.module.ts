import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { BrokerModule } from '../broker/broker.module';
import { AccountController } from './account.controller';
import { AccountReader } from './account-reader.service';

/** The broker account's balances, read-only. */
@Module({
  imports: [AuthModule, BrokerModule],
  controllers: [AccountController],
  providers: [AccountReader],
})
export class AccountModule {}
