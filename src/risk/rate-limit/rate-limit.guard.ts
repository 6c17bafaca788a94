import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  Injectable,
  Logger,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Principal } from '../../auth/permission';
import { DomainError } from '../../common/domain-error';
import { ApiErrors } from '../../common/openapi';
import { PreTradeSwitch } from '../pipeline/pre-trade-switch';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { RATE_LIMIT_WINDOW_MS, RateLimitClass, RateLimiter } from './rate-limiter.service';

export const RATE_LIMIT_CLASS_KEY = 'risk:rate-limit-class';

/**
 * Counts the request against the caller's budget for `cls`. A route-level
 * guard, so it runs after the global ApiKeyGuard has set `req.principal`.
 */
export const RateLimit = (cls: RateLimitClass) =>
  applyDecorators(
    SetMetadata(RATE_LIMIT_CLASS_KEY, cls),
    UseGuards(RateLimitGuard),
    // A submit fails closed when the store cannot be asked; a cancel passes.
    cls === 'cancel' ? ApiErrors('RATE_LIMITED') : ApiErrors('RATE_LIMITED', 'SAFETY_STATE_UNAVAILABLE'),
  );

/**
 * 429 RATE_LIMITED with Retry-After when the key's budget for the class is
 * spent. When the store cannot be asked: a submit (new exposure) fails closed
 * with 503 SAFETY_STATE_UNAVAILABLE; a cancel is never refused for it (docs/risk-and-safety.md#rate-limits).
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly logger = new Logger('RateLimit');

  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    private readonly metrics: GatewayMetrics,
    private readonly checks: PreTradeSwitch,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (!this.checks.enabled) return true;
    const cls = this.reflector.getAllAndOverride<RateLimitClass | undefined>(RATE_LIMIT_CLASS_KEY, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    const principal = ctx.switchToHttp().getRequest<{ principal?: Principal }>().principal;
    // Without a class there is nothing to count; without a principal the route is public.
    if (!cls || !principal) return true;
    const decision = await this.limiter.hit(cls, principal.keyId);
    if (decision.outcome === 'allowed') return true;
    if (decision.outcome === 'unavailable') {
      if (cls === 'cancel') {
        this.logger.warn(`rate-limit store unavailable; cancel allowed: ${decision.error.message}`);
        return true;
      }
      this.logger.error(`rate-limit store unavailable; ${cls} refused: ${decision.error.message}`);
      this.metrics.orderRejected('SAFETY_STATE_UNAVAILABLE');
      throw new DomainError(
        'unavailable',
        'SAFETY_STATE_UNAVAILABLE',
        'The rate-limit state is unavailable; new orders are refused until it is back',
        { class: cls },
      );
    }
    this.metrics.orderRejected('RATE_LIMITED');
    const windowSeconds = RATE_LIMIT_WINDOW_MS / 1000;
    throw new DomainError(
      'rate_limited',
      'RATE_LIMITED',
      `Rate limit exceeded: at most ${decision.limit} ${cls} requests per ${windowSeconds} s for this API key`,
      { limit: decision.limit, window_seconds: windowSeconds, class: cls },
      decision.retryAfterSeconds,
    );
  }
}
