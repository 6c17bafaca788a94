import { MemoryStateStore } from '../../infra/state/memory-state-store';
import { slidingWindowContract } from '../../../test/support/sliding-window.contract';

describe('MemoryStateStore.slidingWindowHit (docs/risk-and-safety.md#rate-limits)', () => {
  let store: MemoryStateStore;
  let n = 0;
  beforeEach(() => {
    store = new MemoryStateStore();
  });
  slidingWindowContract(
    () => store,
    () => `k${++n}`,
  );

  it('close forgets the windows', async () => {
    await store.slidingWindowHit('k', 1, 60_000, 1);
    await store.close();
    expect((await store.slidingWindowHit('k', 1, 60_000, 2)).allowed).toBe(true);
  });
});
