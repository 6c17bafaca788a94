import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyRepository } from './api-key.repository';
import { ApiKeyService } from './api-key.service';
import { ApiKeysController } from './api-keys.controller';
import { BootstrapKeyNotice } from './bootstrap-key';
import { AuthFailureThrottle } from './auth-failure-throttle';
import { RequestAuthenticator } from './request-authenticator';
import { InternalTokenGuard } from './internal-token.guard';
import { ManageApiKeysUseCase } from './manage-api-keys.use-case';

@Module({
  imports: [AuditModule],
  controllers: [ApiKeysController],
  providers: [
    ApiKeyRepository,
    ApiKeyService,
    BootstrapKeyNotice,
    AuthFailureThrottle,
    RequestAuthenticator,
    ManageApiKeysUseCase,
    // Global guards run in the order registered: service signing first, then the API key.
    { provide: APP_GUARD, useClass: InternalTokenGuard },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
  exports: [ApiKeyService, RequestAuthenticator, BootstrapKeyNotice],
})
export class AuthModule {}
