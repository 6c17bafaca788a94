import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { DomainError } from '../common/domain-error';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { clientAddress, TrustedProxies } from '../infra/http/client-address';
import { ApiKeyService } from './api-key.service';
import { AUTH_FAILURE_WINDOW_MS, AuthFailureThrottle, AuthThrottleDecision } from './auth-failure-throttle';
import { Principal } from './permission';

export type Authentication = { kind: 'none' } | { kind: 'invalid' } | { kind: 'valid'; principal: Principal };

/**
 * Who a request's API key names, with failed attempts throttled per client
 * address (docs/security.md#authentication-throttling): a throttled address
 * is refused before its key is looked up, and every miss counts. Every place
 * that reads a key from a request goes through here (the API-key guard, the
 * detailed /health), so none is an unthrottled oracle.
 */
@Injectable()
export class RequestAuthenticator {
  private readonly proxies: TrustedProxies;

  constructor(
    private readonly keys: ApiKeyService,
    private readonly throttle: AuthFailureThrottle,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.proxies = new TrustedProxies(config.trustedProxyHosts);
  }

  /** Throws 429 RATE_LIMITED (class `authentication`) when the request's address is throttled. */
  async authenticate(req: Request): Promise<Authentication> {
    const presented = presentedKey(req);
    if (!presented) return { kind: 'none' };
    const address = clientAddress(req.socket?.remoteAddress, req.headers['x-forwarded-for'], this.proxies);
    const before = await this.throttle.check(address);
    if (before.outcome === 'throttled') throw throttled(before);
    const principal = await this.keys.authenticate(presented);
    if (principal) return { kind: 'valid', principal };
    const after = await this.throttle.recordFailure(address);
    if (after.outcome === 'throttled') throw throttled(after);
    return { kind: 'invalid' };
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
