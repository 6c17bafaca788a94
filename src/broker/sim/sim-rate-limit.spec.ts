import { SimBrokerClient } from './sim-broker.client';
import { makeSim, order, rejection } from './sim-broker.spec-helpers';
import { SimRateLimit } from './sim-rate-limit';

describe('sim broker: optional rate limit (docs/simulator.md#rate-limit)', () => {
  it('is off by default: any number of calls in a minute', async () => {
    const { sim } = makeSim();
    for (let i = 0; i < 300; i += 1) await sim.getAccount();
    expect(sim.rateLimit.refused).toBe(0);
  });

  it('refuses a call above the budget as Alpaca does (retryable 429, code, Retry-After in whole seconds), acting on nothing', async () => {
    const { sim, clock } = makeSim({ rateLimitPerMinute: 3 });
    await sim.submitOrder(order({ clientOrderId: 'rl-1' }));
    clock.advance(10_000);
    await sim.getAccount();
    await sim.listPositions();
    clock.advance(500);
    const e = await rejection(sim.submitOrder(order({ clientOrderId: 'rl-2' })));
    expect(e.kind).toBe('retryable');
    // rl-1 (at 0) leaves the window at 60 s: 49.5 s from now, announced as 50.
    expect(e.details).toMatchObject({ status: 429, code: 42910000, retryAfterMs: 50_000 });
    // Reads too, while the window is full.
    expect((await rejection(sim.getOrderByClientOrderId('rl-2'))).details.status).toBe(429);
    // A refused submission was never acted on: the id is free once the window has room again.
    clock.advance(49_500);
    expect(await sim.submitOrder(order({ clientOrderId: 'rl-2' }))).toMatchObject({ clientOrderId: 'rl-2' });
    expect(sim.submissionCount('rl-2')).toBe(2);
    expect(sim.rateLimit.refused).toBe(2);
    expect(sim.rateLimit.maxInWindow).toBe(3);
  });

  it('counts commands and reports alike, never the update stream', async () => {
    const { sim } = makeSim({ rateLimitPerMinute: 2 });
    const ack = await sim.submitOrder(order({ type: 'limit', limitPrice: '1' }));
    await sim.cancelOrder(ack.id);
    for (const call of [
      () => sim.getOrder(ack.id),
      () => sim.listOrders({ status: 'all' }),
      () => sim.listFills({}),
      () => sim.cancelAllOrders(),
      () => sim.closePosition('AAPL'),
      () => sim.replaceOrder(ack.id, { qty: '1' }),
    ]) {
      expect((await rejection(call())).details.status).toBe(429);
    }
    await sim.connect({ onUpdate: () => undefined, onConnected: () => undefined });
    expect(sim.streamState()).toBe('connected');
    await sim.disconnect();
  });

  it('is a sliding window, never more than the budget in any minute', () => {
    const limit = new SimRateLimit(2);
    expect(limit.take(0)).toBeNull();
    expect(limit.take(30_000)).toBeNull();
    expect(limit.take(59_999)?.details.retryAfterMs).toBe(1_000);
    expect(limit.take(60_000)).toBeNull();
    expect(limit.take(60_001)?.details.retryAfterMs).toBe(30_000);
    expect(limit.take(90_000)).toBeNull();
    expect(limit.maxInWindow).toBe(2);
    expect(new SimRateLimit(null).take(0)).toBeNull();
  });

  it('counts right over many calls, the expired ones dropped as it goes', () => {
    const limit = new SimRateLimit(2_000);
    // 100 calls a second for 100 s: 2,000 admitted in the first 20 s, none until the first leaves at 60 s,
    // then 2,000 more from 60 s to 80 s.
    let admitted = 0;
    for (let i = 0; i < 10_000; i += 1) if (limit.take(i * 10) === null) admitted += 1;
    expect(admitted).toBe(4_000);
    expect(limit.refused).toBe(6_000);
    expect(limit.maxInWindow).toBe(2_000);
    expect(limit.take(140_000)).toBeNull();
  });

  it('refuses a budget that is not a positive integer', () => {
    expect(() => makeSim({ rateLimitPerMinute: 0 })).toThrow(/rateLimitPerMinute/);
    expect(() => makeSim({ rateLimitPerMinute: 1.5 })).toThrow(/rateLimitPerMinute/);
    expect(makeSim({ rateLimitPerMinute: 1 }).sim).toBeInstanceOf(SimBrokerClient);
  });
});
