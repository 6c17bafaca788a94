import fc from 'fast-check';
import { blockedSymbols, opensGate, ReconciliationStateView } from './gate';
import { retryBackoffMs, runDue, ScheduleState } from './schedule';

const state = (over: Partial<ReconciliationStateView> = {}): ReconciliationStateView => ({
  lastRunStartedAt: null,
  lastRunFinishedAt: null,
  lastRunOk: null,
  lastError: null,
  lastSuccessAt: null,
  forceCompletedAt: null,
  forceCompletedBy: null,
  version: 1,
  ...over,
});
const boot = new Date('2026-01-02T15:00:00Z');
const before = new Date(boot.getTime() - 1);
const after = new Date(boot.getTime() + 1);

describe('gate', () => {
  it('stays closed for runs and force-completes from before the process started', () => {
    expect(opensGate(state({ lastSuccessAt: before, forceCompletedAt: before }), boot)).toBeNull();
    expect(opensGate(state({ lastSuccessAt: after }), boot)).toBe('run');
    expect(opensGate(state({ forceCompletedAt: after }), boot)).toBe('force');
  });

  it('blocks orphans always and position mismatches only under the block policy', () => {
    const blocking = [
      { id: '1', kind: 'orphan' as const, symbol: 'AAPL' },
      { id: '2', kind: 'position_mismatch' as const, symbol: 'MSFT' },
    ];
    expect([...blockedSymbols(blocking, 'block').keys()].sort()).toEqual(['AAPL', 'MSFT']);
    expect([...blockedSymbols(blocking, 'report').keys()]).toEqual(['AAPL']);
    expect(blockedSymbols(blocking, 'block').get('AAPL')?.code).toBe('SYMBOL_QUARANTINED');
  });
});

describe('schedule', () => {
  const s = (over: Partial<ScheduleState> = {}): ScheduleState => ({
    runRequests: 0,
    serving: 0,
    lastRunStartedAt: null,
    lastRunFinishedAt: null,
    lastRunOk: null,
    consecutiveFailures: 0,
    ...over,
  });
  const t = (ms: number) => new Date(ms);

  it('runs a pending request at once, and nothing before anyone asks', () => {
    expect(runDue(s(), 0, 60_000)).toBeNull();
    expect(runDue(s({ runRequests: 3, serving: 2 }), 0, 60_000)).toBe('requested');
    expect(runDue(s({ runRequests: 3, serving: 3, lastRunStartedAt: t(0), lastRunOk: true }), 1000, 60_000)).toBeNull();
  });

  it('runs periodically after the interval and retries failures with a doubling backoff', () => {
    const ok = s({ runRequests: 1, serving: 1, lastRunStartedAt: t(0), lastRunFinishedAt: t(100), lastRunOk: true });
    expect(runDue(ok, 59_999, 60_000)).toBeNull();
    expect(runDue(ok, 60_000, 60_000)).toBe('periodic');
    const failed = { ...ok, lastRunOk: false, consecutiveFailures: 3 };
    expect(runDue(failed, 100 + 3_999, 60_000)).toBeNull();
    expect(runDue(failed, 100 + 4_000, 60_000)).toBe('retry');
  });

  it('backoff never exceeds 30 s nor the interval, and never shrinks as failures grow', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1000, max: 86_400_000 }), (n, interval) => {
        const b = retryBackoffMs(n, interval);
        expect(b).toBeLessThanOrEqual(Math.min(30_000, interval));
        expect(retryBackoffMs(n + 1, interval)).toBeGreaterThanOrEqual(b);
      }),
    );
  });
});
