import {
  heartbeatDeadline,
  isHeartbeatDue,
  parseStates,
  serializeStates,
  StrategyStates,
  strategyView,
} from './strategy-state';

const states: StrategyStates = {
  version: 7,
  restricted: {
    gamma: {
      state: 'halted',
      reason: 'HEARTBEAT_EXPIRED',
      changedAt: new Date('2026-01-05T15:00:00Z'),
      changedBy: 'system',
    },
    delta: { state: 'reducing', reason: null, changedAt: new Date('2026-01-05T15:01:00Z'), changedBy: 'ops' },
  },
};

describe('strategyView', () => {
  const snapshot = { state: states, confirmedAt: 1_000 };

  it('answers the held state; a strategy without a row is active', () => {
    expect(strategyView(snapshot, 'gamma', 1_500)).toMatchObject({
      readable: true,
      state: 'halted',
      reason: 'HEARTBEAT_EXPIRED',
    });
    expect(strategyView(snapshot, 'delta', 1_500)).toMatchObject({ readable: true, state: 'reducing' });
    expect(strategyView(snapshot, 'alpha', 1_500)).toEqual({
      readable: true,
      state: 'active',
      reason: null,
      changedAt: null,
      changedBy: null,
    });
  });

  it('is unreadable when never read or not confirmed within the last second', () => {
    expect(strategyView(null, 'alpha', 0).readable).toBe(false);
    expect(strategyView(snapshot, 'alpha', 2_000).readable).toBe(true);
    expect(strategyView(snapshot, 'alpha', 2_001).readable).toBe(false);
  });
});

describe('heartbeat deadline', () => {
  it('is due at the deadline, not a millisecond before', () => {
    const now = new Date('2026-01-05T15:00:00Z');
    const deadline = heartbeatDeadline(now, 30);
    expect(deadline.toISOString()).toBe('2026-01-05T15:00:30.000Z');
    expect(isHeartbeatDue(deadline, new Date(deadline.getTime() - 1))).toBe(false);
    expect(isHeartbeatDue(deadline, deadline)).toBe(true);
    expect(isHeartbeatDue(null, deadline)).toBe(false);
  });
});

describe('the Redis copy', () => {
  it('round-trips, and refuses anything that is not a state set', () => {
    expect(parseStates(serializeStates(states))).toEqual(states);
    for (const bad of [
      '',
      'null',
      '{"version":"1","restricted":{}}',
      '{"version":1,"restricted":{"x":{"state":"paused"}}}',
    ]) {
      expect(parseStates(bad)).toBeNull();
    }
  });
});
