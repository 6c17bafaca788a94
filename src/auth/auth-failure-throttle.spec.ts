import { loadConfig } from '../config/app-config';
import { ManualClock } from '../infra/clock/clock';
import { MemoryStateStore } from '../infra/state/memory-state-store';
import { StateStore } from '../infra/state/state-store';
import { AuthFailureThrottle } from './auth-failure-throttle';

function setup(limit = 3) {
  const clock = new ManualClock();
  const store = new MemoryStateStore(clock);
  const throttle = new AuthFailureThrottle(loadConfig({ AUTH_FAILURE_RATE_LIMIT: String(limit) }), store, clock);
  return { clock, store, throttle };
}

describe('AuthFailureThrottle (docs/security.md#authentication-throttling)', () => {
  it('admits `limit` misses a minute per address, then blocks it until the oldest leaves the window', async () => {
    const { clock, throttle } = setup(3);
    for (let i = 0; i < 3; i++) {
      expect(await throttle.check('1.1.1.1')).toEqual({ outcome: 'open' });
      expect(await throttle.recordFailure('1.1.1.1')).toEqual({ outcome: 'open' });
      clock.advance(10_000);
    }
    // 30 s after the first miss: the fourth miss blocks the address for the 30 s left.
    expect(await throttle.recordFailure('1.1.1.1')).toEqual({ outcome: 'throttled', limit: 3, retryAfterSeconds: 30 });
    clock.advance(1_000);
    expect(await throttle.check('1.1.1.1')).toEqual({ outcome: 'throttled', limit: 3, retryAfterSeconds: 29 });
    expect(await throttle.check('2.2.2.2')).toEqual({ outcome: 'open' });
    clock.advance(29_000);
    expect(await throttle.check('1.1.1.1')).toEqual({ outcome: 'open' });
    expect(await throttle.recordFailure('1.1.1.1')).toEqual({ outcome: 'open' });
  });

  it('steps aside when the store cannot be reached', async () => {
    const { clock } = setup();
    const broken = {
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      slidingWindowHit: () => Promise.reject(new Error('down')),
    } as unknown as StateStore;
    const throttle = new AuthFailureThrottle(loadConfig({ AUTH_FAILURE_RATE_LIMIT: '1' }), broken, clock);
    expect(await throttle.check('1.1.1.1')).toEqual({ outcome: 'open' });
    expect(await throttle.recordFailure('1.1.1.1')).toEqual({ outcome: 'open' });
  });
});
