import { Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository';
import { AppConfig } from '../config/app-config';
import { ManualClock } from '../infra/clock/clock';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { UnitOfWork } from '../infra/database/unit-of-work';
import { LeaderElection } from '../infra/leader/leader-election.service';
import { FindingsRepository } from './persistence/findings.repository';
import { ReconciliationState, ReconciliationStateRepository } from './persistence/reconciliation-state.repository';
import { ReconciliationGateService } from './reconciliation-gate.service';
import { ReconciliationMetrics } from './reconciliation.metrics';
import { ReconciliationService } from './reconciliation.service';
import { ReconcileUseCase } from './use-cases/reconcile.use-case';

const T0 = new Date('2026-01-02T15:00:00.000Z');
const INTERVAL_S = 60;
const STARTUP_DELAY_S = 3;

describe('ReconciliationService scheduling', () => {
  let clock: ManualClock;
  let scheduler: ManualScheduler;
  let leading: boolean;
  let state: Partial<ReconciliationState> | null;
  let served: number;
  let repo: { requestRun: jest.Mock; tryLock: jest.Mock; readState: jest.Mock };
  let gate: { announce: jest.Mock; lastState: () => unknown; dbNowMs: () => number; onChange: () => () => void };
  let service: ReconciliationService;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    clock = new ManualClock(T0);
    scheduler = new ManualScheduler(clock);
    leading = true;
    state = null;
    served = 0;
    repo = {
      requestRun: jest.fn(async () => 1),
      tryLock: jest.fn(async () => null), // another session runs: nothing to do here
      readState: jest.fn(async () => ({ served })),
    };
    gate = {
      announce: jest.fn(async () => undefined),
      lastState: () => state,
      dbNowMs: () => clock.now().getTime(),
      onChange: () => () => undefined,
    };
    const leader = {
      isLeader: () => leading,
      whenLeader: async <T>(fn: () => Promise<T>) => (leading ? fn() : undefined),
    };
    const config = {
      reconciliation: { startupDelaySeconds: STARTUP_DELAY_S },
      reconciliationIntervalSeconds: INTERVAL_S,
    } as unknown as AppConfig;
    service = new ReconciliationService(
      config,
      {} as UnitOfWork,
      repo as unknown as ReconciliationStateRepository,
      {} as FindingsRepository,
      gate as unknown as ReconciliationGateService,
      leader as unknown as LeaderElection,
      {} as ReconcileUseCase,
      {} as AuditRepository,
      {} as ReconciliationMetrics,
      scheduler,
    );
  });

  afterEach(() => service.beforeApplicationShutdown());

  const settled = (at: Date, ok = true): Partial<ReconciliationState> => ({
    runRequests: 1,
    serving: 1,
    lastRunStartedAt: at,
    lastRunFinishedAt: at,
    lastRunOk: ok,
    consecutiveFailures: ok ? 0 : 1,
    lockHeld: false,
  });

  it('asks for a run RECONCILIATION_STARTUP_DELAY_SECONDS after boot, and tells every replica', async () => {
    service.onApplicationBootstrap();
    await scheduler.advance(STARTUP_DELAY_S * 1000 - 1);
    expect(repo.requestRun).not.toHaveBeenCalled();
    await scheduler.advance(1);
    expect(repo.requestRun).toHaveBeenCalledTimes(1);
    expect(gate.announce).toHaveBeenCalledTimes(1);
    await scheduler.advance(600_000);
    expect(repo.requestRun).toHaveBeenCalledTimes(1);
  });

  it('retries the boot request with a doubling backoff while the database refuses it', async () => {
    repo.requestRun
      .mockRejectedValueOnce(new Error('db down'))
      .mockRejectedValueOnce(new Error('db down'))
      .mockResolvedValueOnce(1);
    service.onApplicationBootstrap();
    await scheduler.advance(STARTUP_DELAY_S * 1000);
    expect(repo.requestRun).toHaveBeenCalledTimes(1);
    await scheduler.advance(1_000); // first retry after 1 s
    expect(repo.requestRun).toHaveBeenCalledTimes(2);
    await scheduler.advance(1_999);
    expect(repo.requestRun).toHaveBeenCalledTimes(2);
    await scheduler.advance(1); // second retry 2 s later
    expect(repo.requestRun).toHaveBeenCalledTimes(3);
    expect(gate.announce).toHaveBeenCalledTimes(1);
  });

  it('on the leader, tries a periodic run once RECONCILIATION_INTERVAL_SECONDS have passed since the last start', async () => {
    state = settled(T0);
    service.onApplicationBootstrap();
    await scheduler.advance(INTERVAL_S * 1000 - 1);
    expect(repo.tryLock).not.toHaveBeenCalled();
    await scheduler.advance(1);
    expect(repo.tryLock).toHaveBeenCalledTimes(1);
  });

  it('retries a failed run after the backoff, not at the interval', async () => {
    state = settled(T0, false);
    service.onApplicationBootstrap();
    await scheduler.advance(750);
    expect(repo.tryLock).not.toHaveBeenCalled();
    await scheduler.advance(250);
    expect(repo.tryLock).toHaveBeenCalledTimes(1);
  });

  it('runs nothing on a replica that does not lead, nor while another session holds the run lock', async () => {
    state = { ...settled(T0), runRequests: 2 };
    leading = false;
    service.onApplicationBootstrap();
    await scheduler.advance(5_000);
    expect(repo.tryLock).not.toHaveBeenCalled();
    leading = true;
    state = { ...state, lockHeld: true };
    await scheduler.advance(5_000);
    expect(repo.tryLock).not.toHaveBeenCalled();
    state = { ...state, lockHeld: false };
    await scheduler.advance(250);
    expect(repo.tryLock).toHaveBeenCalledTimes(1);
  });

  it('POST /run waits for its request to be served, polling every 100 ms', async () => {
    jest.spyOn(service, 'status').mockResolvedValue({} as never);
    const outcome = service.requestRun();
    await scheduler.advance(300);
    expect(repo.readState).toHaveBeenCalledTimes(4);
    served = 1;
    await scheduler.advance(100);
    await expect(outcome).resolves.toEqual({ done: true, status: {} });
  });

  it('POST /run answers "requested" after 25 s without a run', async () => {
    let answered = false;
    const outcome = service.requestRun().then((r) => {
      answered = true;
      return r;
    });
    await scheduler.advance(24_900);
    expect(answered).toBe(false);
    await scheduler.advance(100);
    await expect(outcome).resolves.toEqual({ done: false, request: 1 });
    expect(scheduler.pending()).toEqual([]);
  });

  it('stops at shutdown', async () => {
    state = settled(T0);
    service.onApplicationBootstrap();
    await service.beforeApplicationShutdown();
    expect(scheduler.pending()).toEqual([]);
    await scheduler.advance(600_000);
    expect(repo.requestRun).not.toHaveBeenCalled();
    expect(repo.tryLock).not.toHaveBeenCalled();
  });
});
