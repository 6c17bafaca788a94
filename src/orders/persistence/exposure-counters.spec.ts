import { OPEN_STATUSES } from '../../trading/order-state-machine';
import { EXPOSURE_OPEN_STATUSES } from '../../../migrations/1765300000000-exposure-counters';

describe('exposure counter triggers', () => {
  it('count exactly the open statuses of the state machine', () => {
    expect([...EXPOSURE_OPEN_STATUSES].sort()).toEqual([...OPEN_STATUSES].sort());
  });
});
