import { Logger } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository';
import { ManualClock } from '../infra/clock/clock';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { KillSwitchService } from '../risk/kill-switch/kill-switch.service';
import { CancelAllOrdersUseCase, CancelAllSummary } from './cancel-all-orders.use-case';
import { CANCEL_ALL_SECOND_SWEEP_MS, EngageKillSwitchUseCase } from './engage-kill-switch.use-case';

const CTX = { actor: 'ops-key', requestId: 'req-1' };
const CMD = { operator: 'alice', reason: 'runaway strategy', details: null };
const SUMMARY: CancelAllSummary = { found: 2, canceled: 2, pending: 0, failed: [] };

describe('EngageKillSwitchUseCase', () => {
  let scheduler: ManualScheduler;
  let killSwitch: { engage: jest.Mock; status: jest.Mock; running: boolean };
  let cancelAll: { execute: jest.Mock };
  let audit: { append: jest.Mock };
  let useCase: EngageKillSwitchUseCase;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    scheduler = new ManualScheduler(new ManualClock(new Date('2026-01-02T15:00:00Z')));
    const status = { state: { engaged: true }, history: [] };
    killSwitch = { engage: jest.fn(async () => status), status: jest.fn(async () => status), running: true };
    cancelAll = { execute: jest.fn(async () => SUMMARY) };
    audit = { append: jest.fn(async () => undefined) };
    useCase = new EngageKillSwitchUseCase(
      killSwitch as unknown as KillSwitchService,
      cancelAll as unknown as CancelAllOrdersUseCase,
      audit as unknown as AuditRepository,
      scheduler,
    );
  });

  it('without cancel_open_orders only engages the switch: nothing cancelled, nothing scheduled', async () => {
    const out = await useCase.execute({ ...CMD, cancelOpenOrders: false }, CTX);
    expect(killSwitch.engage).toHaveBeenCalledWith(CMD, CTX);
    expect(out).not.toHaveProperty('cancelAll');
    expect(cancelAll.execute).not.toHaveBeenCalled();
    expect(scheduler.pending()).toEqual([]);
  });

  it('with cancel_open_orders sweeps at once and once more after the second-sweep delay, both audited', async () => {
    const out = await useCase.execute({ ...CMD, cancelOpenOrders: true }, CTX);
    expect(out.cancelAll).toEqual(SUMMARY);
    expect(cancelAll.execute).toHaveBeenCalledTimes(1);
    expect(cancelAll.execute).toHaveBeenCalledWith({ actor: 'alice', requestId: 'req-1' });

    await scheduler.advance(CANCEL_ALL_SECOND_SWEEP_MS - 1);
    expect(cancelAll.execute).toHaveBeenCalledTimes(1);
    await scheduler.advance(1);
    expect(cancelAll.execute).toHaveBeenCalledTimes(2);

    expect(audit.append).toHaveBeenCalledTimes(2);
    for (const [row] of audit.append.mock.calls) {
      expect(row).toMatchObject({ action: 'kill_switch.cancel_all', actor: 'alice', details: { api_key: 'ops-key' } });
    }
  });

  it('a failing sweep is reported and audited, and never undoes the engage', async () => {
    cancelAll.execute.mockRejectedValueOnce(new Error('database unavailable'));
    const out = await useCase.execute({ ...CMD, cancelOpenOrders: true }, CTX);
    expect(out.cancelAll).toEqual({ error: 'database unavailable' });
    expect(killSwitch.engage).toHaveBeenCalledTimes(1);
    expect(audit.append.mock.calls[0][0]).toMatchObject({ details: { error: 'database unavailable' } });
  });

  it('a process shutting down does not sweep', async () => {
    killSwitch.running = false;
    const out = await useCase.execute({ ...CMD, cancelOpenOrders: true }, CTX);
    expect(out.cancelAll).toEqual({ error: 'cancel-all is not available in this process' });
    expect(cancelAll.execute).not.toHaveBeenCalled();
  });
});
