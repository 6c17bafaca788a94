import { Logger } from '@nestjs/common';
import { AuditRepository } from '../../audit/audit.repository';
import { BrokerCallObserver } from '../../broker/broker-call-observer';
import { BrokerError } from '../../broker/broker-client.port';
import { ConflictError } from '../../common/domain-error';
import { AppConfig } from '../../config/app-config';
import { ManualClock } from '../../infra/clock/clock';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { MemoryStateStore } from '../../infra/state/memory-state-store';
import { CircuitBreakerState } from './circuit-breaker-state';
import { CircuitBreakerEvent, CircuitBreakerRepository } from './circuit-breaker.repository';
import { CircuitBreakerService } from './circuit-breaker.service';

/** The repository's contract, in memory. */
class FakeRepo {
  state: CircuitBreakerState = {
    tripped: false,
    trippedAt: null,
    trippedBy: null,
    reason: null,
    reasonCode: null,
    details: null,
    resetAt: null,
    resetBy: null,
    version: 0,
  };
  events: CircuitBreakerEvent[] = [];
  readState = jest.fn(async () => ({ ...this.state }));
  async withLockedState<T>(fn: (s: CircuitBreakerState, m: never) => Promise<T>): Promise<T> {
    return fn({ ...this.state }, undefined as never);
  }
  async trip(_m: unknown, e: { operator: string; reasonCode: string; reason: string; details: unknown }) {
    this.events.unshift({
      action: 'trip',
      at: new Date(),
      operator: e.operator,
      reasonCode: e.reasonCode,
      reason: e.reason,
      notes: null,
    });
    this.state = {
      ...this.state,
      tripped: true,
      trippedAt: new Date(),
      trippedBy: e.operator,
      reasonCode: e.reasonCode,
      reason: e.reason,
      details: e.details as Record<string, unknown> | null,
      version: this.state.version + 1,
    };
    return { ...this.state };
  }
  async reset(_m: unknown, e: { operator: string; notes: string | null }) {
    this.events.unshift({
      action: 'reset',
      at: new Date(),
      operator: e.operator,
      reasonCode: null,
      reason: null,
      notes: e.notes,
    });
    this.state = {
      ...this.state,
      tripped: false,
      reasonCode: null,
      reason: null,
      resetBy: e.operator,
      version: this.state.version + 1,
    };
    return { ...this.state };
  }
  async history() {
    return this.events;
  }
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('CircuitBreakerService', () => {
  let repo: FakeRepo;
  let clock: ManualClock;
  let observer: BrokerCallObserver;
  let audit: { append: jest.Mock };
  let service: CircuitBreakerService;
  let store: MemoryStateStore;

  const make = async (enabled = true, threshold = 3, windowSeconds = 1) => {
    const config = {
      circuitBreakerEnabled: enabled,
      circuitBreaker: { brokerErrorThreshold: threshold, brokerErrorWindowSeconds: windowSeconds },
    } as unknown as AppConfig;
    const metrics = {
      circuitBreakerState: jest.fn(),
      circuitBreakerTripped: jest.fn(),
      circuitBreakerCheckFailed: jest.fn(),
    } as unknown as GatewayMetrics;
    service = new CircuitBreakerService(
      config,
      repo as unknown as CircuitBreakerRepository,
      (store = new MemoryStateStore()),
      audit as unknown as AuditRepository,
      metrics,
      observer,
      clock,
    );
    await service.onApplicationBootstrap();
  };
  const brokerError = (kind: BrokerError['kind'] = 'unknown_outcome') =>
    observer.record({
      operation: 'submitOrder',
      ok: false,
      outcome: kind,
      error: new BrokerError(kind, 'x'),
      durationMs: 1,
    });

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    repo = new FakeRepo();
    clock = new ManualClock(new Date('2026-01-02T15:00:00.000Z'));
    observer = new BrokerCallObserver();
    audit = { append: jest.fn().mockResolvedValue(undefined) };
  });
  afterEach(async () => {
    await service?.onApplicationShutdown();
  });

  it('trips on the threshold-th broker error inside the window', async () => {
    await make(true, 3, 1);
    brokerError();
    clock.advance(500);
    brokerError('retryable');
    clock.advance(499);
    await flush();
    expect(service.current().tripped).toBe(false);
    brokerError('auth');
    await flush();
    expect(service.current()).toMatchObject({
      readable: true,
      tripped: true,
      reasonCode: 'BROKER_ERRORS',
      trippedBy: 'system',
    });
    expect(audit.append).toHaveBeenCalledWith(
      expect.objectContaining({ action: 'circuit_breaker.tripped', actor: 'system', reasonCode: 'BROKER_ERRORS' }),
      undefined,
    );
  });

  it('an error exactly one window after the first no longer counts the first', async () => {
    await make(true, 3, 1);
    brokerError();
    clock.advance(500);
    brokerError();
    clock.advance(500); // the first error is now exactly 1000 ms old: out of the window
    await flush();
    brokerError();
    await flush();
    expect(service.current().tripped).toBe(false);
    brokerError();
    await flush();
    expect(service.current().tripped).toBe(true);
  });

  it('does not count rejections, not-found or successes', async () => {
    await make(true, 1, 60);
    brokerError('rejected');
    brokerError('not_found');
    observer.record({ operation: 'getAccount', ok: true, outcome: 'ok', durationMs: 1 });
    await flush();
    expect(service.current().tripped).toBe(false);
    expect(repo.events).toEqual([]);
  });

  it('trips once however many errors pile up, and stays tripped until a manual reset', async () => {
    await make(true, 1, 60);
    for (let i = 0; i < 5; i++) brokerError();
    await flush();
    expect(repo.events.filter((e) => e.action === 'trip')).toHaveLength(1);
    const status = await service.reset({ operator: 'jane', notes: 'broker back' }, { actor: 'admin' });
    expect(status.state.tripped).toBe(false);
    expect(service.current().tripped).toBe(false);
    // Idempotent: a second reset records nothing.
    await service.reset({ operator: 'joe', notes: null }, { actor: 'admin' });
    expect(repo.events.map((e) => e.action)).toEqual(['reset', 'trip']);
  });

  it('disabled: never trips on errors, answers open, refuses a manual trip with 409 CIRCUIT_BREAKER_DISABLED', async () => {
    await make(false, 1, 60);
    brokerError();
    await flush();
    expect(await service.autoTrip({ reasonCode: 'DAILY_LOSS', reason: 'x', details: {} })).toBe(false);
    expect(repo.events).toEqual([]);
    expect(service.current()).toEqual({
      readable: true,
      tripped: false,
      reasonCode: null,
      reason: null,
      trippedAt: null,
      trippedBy: null,
    });
    await expect(service.trip({ operator: 'jane', reason: 'x' }, { actor: 'admin' })).rejects.toMatchObject({
      code: 'CIRCUIT_BREAKER_DISABLED',
    });
    await expect(service.trip({ operator: 'jane', reason: 'x' }, { actor: 'admin' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await service.status()).enabled).toBe(false);
  });

  it('fails closed: with neither PostgreSQL nor the Redis copy readable for over a second, current() is unreadable', async () => {
    await make();
    await service.autoTrip({ reasonCode: 'MANUAL', reason: 'x', details: {} });
    expect(service.current()).toMatchObject({ readable: true, tripped: true });
    repo.readState.mockRejectedValue(new Error('db down'));
    // PostgreSQL alone failing: the Redis copy keeps it confirmed.
    await new Promise((r) => setTimeout(r, 600));
    expect(service.current().readable).toBe(true);
    jest.spyOn(store, 'get').mockRejectedValue(new Error('redis down'));
    await new Promise((r) => setTimeout(r, 1_300));
    expect(service.current()).toMatchObject({ readable: false, reasonCode: 'MANUAL' });
    // Readable again once a source answers.
    repo.readState.mockImplementation(async () => ({ ...repo.state }));
    await service.refresh();
    expect(service.current()).toMatchObject({ readable: true, tripped: true });
  });
});
