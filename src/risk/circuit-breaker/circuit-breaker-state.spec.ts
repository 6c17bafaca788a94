import { applyVersionedRead } from '../../infra/state/replicated-state';
import {
  CIRCUIT_BREAKER_MAX_AGE_MS,
  CircuitBreakerState,
  parseState,
  serializeState,
  viewOf,
} from './circuit-breaker-state';

const open: CircuitBreakerState = {
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
const tripped: CircuitBreakerState = {
  ...open,
  tripped: true,
  trippedAt: new Date('2026-01-02T15:00:00.000Z'),
  trippedBy: 'system',
  reason: 'Daily loss 5000 reached the limit of 5000',
  reasonCode: 'DAILY_LOSS',
  details: { total_pnl: '-5000' },
  version: 1,
};

describe('viewOf', () => {
  it('reports a fresh state as readable', () => {
    expect(viewOf({ state: tripped, confirmedAt: 100 }, 100, true)).toEqual({
      readable: true,
      tripped: true,
      reasonCode: 'DAILY_LOSS',
      reason: tripped.reason,
      trippedAt: tripped.trippedAt,
      trippedBy: 'system',
    });
    expect(viewOf({ state: open, confirmedAt: 100 }, 200, true)).toMatchObject({ readable: true, tripped: false });
  });

  it('is unreadable with no state, and past the maximum age (exactly at it is still fine)', () => {
    expect(viewOf(null, 0, true).readable).toBe(false);
    expect(viewOf({ state: open, confirmedAt: 0 }, CIRCUIT_BREAKER_MAX_AGE_MS, true).readable).toBe(true);
    expect(viewOf({ state: open, confirmedAt: 0 }, CIRCUIT_BREAKER_MAX_AGE_MS + 1, true).readable).toBe(false);
  });

  it('disabled: readable and open, whatever is stored or however old', () => {
    const expected = {
      readable: true,
      tripped: false,
      reasonCode: null,
      reason: null,
      trippedAt: null,
      trippedBy: null,
    };
    expect(viewOf(null, 10_000, false)).toEqual(expected);
    expect(viewOf({ state: tripped, confirmedAt: 0 }, 10_000, false)).toEqual(expected);
  });
});

describe('applyVersionedRead (the shared rule, on this state)', () => {
  it('never goes back to an older version read late; the same version confirms again', () => {
    const current = { state: tripped, confirmedAt: 10 };
    expect(applyVersionedRead(current, open, 500)).toBe(current);
    expect(applyVersionedRead(current, tripped, 500)).toEqual({ state: tripped, confirmedAt: 500 });
  });
});

describe('serializeState / parseState', () => {
  it('round-trips', () => {
    expect(parseState(serializeState(tripped))).toEqual(tripped);
    expect(parseState(serializeState(open))).toEqual(open);
  });

  it('refuses garbage', () => {
    expect(parseState('nope')).toBeNull();
    expect(parseState('{"tripped":"yes","version":1}')).toBeNull();
    expect(parseState('{"tripped":true}')).toBeNull();
  });
});
