import { applyVersionedRead } from '../../infra/state/replicated-state';
import {
  decideNewExposure,
  KILL_SWITCH_MAX_AGE_MS,
  KillSwitchSnapshot,
  KillSwitchState,
  parseState,
  serializeState,
} from './kill-switch-state';

const released: KillSwitchState = {
  engaged: false,
  engagedAt: null,
  engagedBy: null,
  reason: null,
  details: null,
  disengagedAt: null,
  disengagedBy: null,
  version: 0,
};
const engaged: KillSwitchState = {
  ...released,
  engaged: true,
  engagedAt: new Date('2026-01-02T15:00:00.000Z'),
  engagedBy: 'jane',
  reason: 'runaway',
  details: { ticket: 'INC-1' },
  version: 1,
};
const snap = (state: KillSwitchState, confirmedAt: number): KillSwitchSnapshot => ({ state, confirmedAt });

describe('decideNewExposure', () => {
  it('allows on a fresh released state', () => {
    expect(decideNewExposure(snap(released, 1_000), 1_500)).toBe('allow');
  });

  it('refuses on a fresh engaged state', () => {
    expect(decideNewExposure(snap(engaged, 1_000), 1_000)).toBe('engaged');
  });

  it('fails closed with no state read yet', () => {
    expect(decideNewExposure(null, 0)).toBe('unavailable');
  });

  it('trusts a state exactly up to the maximum age, then fails closed', () => {
    expect(decideNewExposure(snap(released, 1_000), 1_000 + KILL_SWITCH_MAX_AGE_MS)).toBe('allow');
    expect(decideNewExposure(snap(released, 1_000), 1_001 + KILL_SWITCH_MAX_AGE_MS)).toBe('unavailable');
  });

  it('reports a stale engaged state as unavailable too (either way no new exposure)', () => {
    expect(decideNewExposure(snap(engaged, 0), 5_000)).toBe('unavailable');
  });

  it('honours a custom maximum age', () => {
    expect(decideNewExposure(snap(released, 0), 300, 250)).toBe('unavailable');
  });
});

describe('applyVersionedRead (the shared rule, on this state)', () => {
  it('takes the first read', () => {
    expect(applyVersionedRead(null, released, 10)).toEqual(snap(released, 10));
  });

  it('takes a newer version', () => {
    expect(applyVersionedRead(snap(released, 10), engaged, 20)).toEqual(snap(engaged, 20));
  });

  it('a read of the same version confirms it again', () => {
    expect(applyVersionedRead(snap(engaged, 10), engaged, 500)).toEqual(snap(engaged, 500));
  });

  it('never goes back to an older version read late', () => {
    const current = snap(engaged, 10);
    expect(applyVersionedRead(current, released, 500)).toBe(current);
  });

  it('a slow read that started before the last confirmation does not make it look older', () => {
    expect(applyVersionedRead(snap(engaged, 500), engaged, 100)).toEqual(snap(engaged, 500));
  });
});

describe('serializeState / parseState', () => {
  it('round-trips', () => {
    expect(parseState(serializeState(engaged))).toEqual(engaged);
    expect(parseState(serializeState(released))).toEqual(released);
  });

  it('refuses garbage', () => {
    expect(parseState('not json')).toBeNull();
    expect(parseState('{"engaged":"yes","version":1}')).toBeNull();
    expect(parseState('{"engaged":true}')).toBeNull();
  });
});
