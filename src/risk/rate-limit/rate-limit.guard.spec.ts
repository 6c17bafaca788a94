import { PreTradeSwitch } from '../pipeline/pre-trade-switch';
import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Permission, Principal } from '../../auth/permission';
import { AppConfig } from '../../config/app-config';
import { DomainError } from '../../common/domain-error';
import { SystemClock } from '../../infra/clock/clock';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { MemoryStateStore } from '../../infra/state/memory-state-store';
import { RATE_LIMIT_CLASS_KEY, RateLimitGuard } from './rate-limit.guard';
import { RateLimitClass, RateLimiter, retryAfterSeconds } from './rate-limiter.service';

const config = { rateLimits: { submitPerMinute: 2, slicePerMinute: 1, cancelPerMinute: 3 } } as AppConfig;
const principal = (keyId: string) => new Principal(keyId, keyId, new Set<Permission>(['SUBMIT_ORDER']), ['*']);

function context(cls: RateLimitClass | undefined, p?: Principal): ExecutionContext {
  const handler = () => undefined;
  if (cls) Reflect.defineMetadata(RATE_LIMIT_CLASS_KEY, cls, handler);
  return {
    getHandler: () => handler,
    getClass: () => class {},
    switchToHttp: () => ({ getRequest: () => ({ principal: p }) }),
  } as unknown as ExecutionContext;
}

describe('retryAfterSeconds', () => {
  it.each([
    [0, 1],
    [1, 1],
    [999, 1],
    [1_000, 1],
    [1_001, 2],
    [59_999, 60],
    [60_000, 60],
  ])('%i ms → %i s', (ms, s) => expect(retryAfterSeconds(ms)).toBe(s));
});

describe('RateLimitGuard', () => {
  let store: MemoryStateStore;
  let metrics: { orderRejected: jest.Mock };
  let guard: RateLimitGuard;

  beforeEach(() => {
    store = new MemoryStateStore();
    metrics = { orderRejected: jest.fn() };
    guard = new RateLimitGuard(
      new Reflector(),
      new RateLimiter(config, store, new SystemClock()),
      metrics as unknown as GatewayMetrics,
      new PreTradeSwitch(),
    );
  });

  it('passes up to the limit, then refuses with 429 RATE_LIMITED and a Retry-After', async () => {
    const ctx = context('submit', principal('k1'));
    await expect(guard.canActivate(ctx)).resolves.toBe(true);
    await expect(guard.canActivate(ctx)).resolves.toBe(true);
    const err = (await guard.canActivate(ctx).catch((e: unknown) => e)) as DomainError;
    expect(err).toBeInstanceOf(DomainError);
    expect(err.kind).toBe('rate_limited');
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.message).toMatch(/2 submit requests per 60 s/);
    expect(err.details).toEqual({ limit: 2, window_seconds: 60, class: 'submit' });
    expect(err.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(err.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(metrics.orderRejected).toHaveBeenCalledWith('RATE_LIMITED');
  });

  it('budgets are per key and per class', async () => {
    await guard.canActivate(context('slice', principal('k1')));
    await expect(guard.canActivate(context('slice', principal('k1')))).rejects.toThrow(DomainError);
    await expect(guard.canActivate(context('slice', principal('k2')))).resolves.toBe(true);
    await expect(guard.canActivate(context('submit', principal('k1')))).resolves.toBe(true);
    await expect(guard.canActivate(context('cancel', principal('k1')))).resolves.toBe(true);
  });

  it('store unavailable: a submit fails closed with 503 SAFETY_STATE_UNAVAILABLE', async () => {
    jest.spyOn(store, 'slidingWindowHit').mockRejectedValue(new Error('Connection is closed.'));
    const err = (await guard.canActivate(context('submit', principal('k1'))).catch((e: unknown) => e)) as DomainError;
    expect(err.kind).toBe('unavailable');
    expect(err.code).toBe('SAFETY_STATE_UNAVAILABLE');
    expect(metrics.orderRejected).toHaveBeenCalledWith('SAFETY_STATE_UNAVAILABLE');
  });

  it('store unavailable: a cancel passes', async () => {
    jest.spyOn(store, 'slidingWindowHit').mockRejectedValue(new Error('Connection is closed.'));
    await expect(guard.canActivate(context('cancel', principal('k1')))).resolves.toBe(true);
    expect(metrics.orderRejected).not.toHaveBeenCalled();
  });

  it('a route without a class or a request without a principal is not counted', async () => {
    const spy = jest.spyOn(store, 'slidingWindowHit');
    await expect(guard.canActivate(context(undefined, principal('k1')))).resolves.toBe(true);
    await expect(guard.canActivate(context('submit', undefined))).resolves.toBe(true);
    expect(spy).not.toHaveBeenCalled();
  });
});
