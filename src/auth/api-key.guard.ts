import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ForbiddenError, UnauthenticatedError } from '../common/domain-error';
import { ApiKeyService } from './api-key.service';
import { PUBLIC_KEY } from '../common/public-route';
import { PERMISSIONS_KEY } from './auth.decorators';
import { Permission, Principal } from './permission';

/** Every route needs an API key unless marked @Public(); @RequirePermissions adds RBAC. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<Request & { principal?: Principal }>();
    const presented = presentedKey(req);
    if (!presented) {
      throw new UnauthenticatedError(
        'UNAUTHENTICATED',
        'An API key is required: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      );
    }
    const principal = await this.keys.authenticate(presented);
    if (!principal) throw new UnauthenticatedError('INVALID_API_KEY', 'The API key is not valid');
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
export function presentedKey(req: Request): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const header = req.headers['x-api-key'];
  return typeof header === 'string' && header.trim() ? header.trim() : undefined;
}
