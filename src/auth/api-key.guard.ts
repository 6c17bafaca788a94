import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { DomainError, ForbiddenError, UnauthenticatedError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { clientAddress, TrustedProxies } from '../infra/http/client-address';
import { ApiKeyService } from './api-key.service';
import { AUTH_FAILURE_WINDOW_MS, AuthFailureThrottle, AuthThrottleDecision } from './auth-failure-throttle';
import { PUBLIC_KEY } from '../common/public-route';
import { PERMISSIONS_KEY } from './auth.decorators';
import { Permission, Principal } from './permission';

/**
 * Every route needs an API key unless marked @Public(); @RequirePermissions adds RBAC.
 * Failed authentications are throttled per client address: a blocked address
 * is answered 429 before its key is looked up (docs/security.md#authentication-throttling).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly proxies: TrustedProxies;

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly throttle: AuthFailureThrottle,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.proxies = new TrustedProxies(config.trustedProxyHosts);
  }

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
    const address = clientAddress(req.socket?.remoteAddress, req.headers['x-forwarded-for'], this.proxies);
    const before = await this.throttle.check(address);
    if (before.outcome === 'throttled') throw throttled(before);
    const principal = await this.keys.authenticate(presented);
    if (!principal) {
      const after = await this.throttle.recordFailure(address);
      if (after.outcome === 'throttled') throw throttled(after);
      throw new UnauthenticatedError('INVALID_API_KEY', 'The API key is not valid');
    }
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

function throttled(d: Extract<AuthThrottleDecision, { outcome: 'throttled' }>): DomainError {
  const windowSeconds = AUTH_FAILURE_WINDOW_MS / 1000;
  return new DomainError(
    'rate_limited',
    'RATE_LIMITED',
    `Too many failed authentications from this address: at most ${d.limit} per ${windowSeconds} s`,
    { limit: d.limit, window_seconds: windowSeconds, class: 'authentication' },
    d.retryAfterSeconds,
  );
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
