import { DEFAULT_LEADER_LOCK_KEY, resolveLeaderElectionOptions } from './leader-election.options';

describe('resolveLeaderElectionOptions', () => {
  it('defaults to a 2 s loop, 2 s waits and a 10 s server-side idle limit', () => {
    expect(resolveLeaderElectionOptions()).toEqual({
      intervalMs: 2_000,
      lockKey: DEFAULT_LEADER_LOCK_KEY,
      timeoutMs: 2_000,
      sessionIdleTimeoutMs: 10_000,
      drainTimeoutMs: 5_000,
    });
  });

  it('scales the derived limits with the interval', () => {
    expect(resolveLeaderElectionOptions({ intervalMs: 100 })).toMatchObject({
      timeoutMs: 1_000,
      sessionIdleTimeoutMs: 10_000,
    });
    expect(resolveLeaderElectionOptions({ intervalMs: 5_000 })).toMatchObject({
      timeoutMs: 5_000,
      sessionIdleTimeoutMs: 25_000,
    });
  });

  it('names every bad setting at once', () => {
    expect(() => resolveLeaderElectionOptions({ intervalMs: 0, lockKey: 1.5, drainTimeoutMs: -1 })).toThrow(
      'invalid leader election options: intervalMs must be a positive integer; drainTimeoutMs must be a non-negative integer; lockKey must be a safe integer',
    );
  });

  it('refuses a server-side idle limit a cut-off leader could outlive', () => {
    expect(() =>
      resolveLeaderElectionOptions({ intervalMs: 1_000, timeoutMs: 1_000, sessionIdleTimeoutMs: 2_000 }),
    ).toThrow('sessionIdleTimeoutMs must exceed intervalMs + timeoutMs');
  });
});
