import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ForbiddenError, UnauthenticatedError } from '../common/domain-error';
import { PUBLIC_KEY } from '../common/public-route';
import { PERMISSIONS_KEY } from './auth.decorators';
import { Permission, Principal } from './permission';
import { RequestAuthenticator } from './request-authenticator';

/**
 * Every route needs an API key unless marked @Public(); @RequirePermissions adds RBAC.
 * Failed authentications are throttled per client address: a blocked address
 * is answered 429 before its key is looked up (docs/security.md#authentication-throttling).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: RequestAuthenticator,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const who = await this.authenticator.authenticate(req);
    if (who.kind === 'none') {
      throw new UnauthenticatedError(
        'UNAUTHENTICATED',
        'An API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      );
    }
    if (who.kind === 'invalid') throw new UnauthenticatedError('INVALID_API_KEY', 'The API key is not valid');
    const principal = who.principal;
    const needed = this.reflector.getAllAndOverride<Permission[]>(PERMISSIONS_KEY, targets) ?? [];
    const missing = needed.filter((p) => !principal.has(p));
    if (missing.length) {
      throw new ForbiddenError('PERMISSION_DENIED', `This API key lacks the permission(s): ${missing.join(', ')}`, {
        missing_permissions: missing,
      });
    }
    req.principal = principal;
    return true;
  }
}

/** The key a request carries: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
