import fc from 'fast-check';
import { Decimal } from '../../common/decimal';
import { ManualScheduler } from '../../infra/clock/manual-scheduler';
import type { OrderUpdate } from '../broker-client.port';
import { makeSim, order, record, rejection } from './sim-broker.spec-helpers';

describe('SimBrokerClient: stream, latency, faults', () => {
  describe('the update stream', () => {
    it('delivers asynchronously, in order, starting with onConnected(false)', async () => {
      const { sim } = makeSim({ partialFills: 2 });
      const rec = await record(sim);
      expect(sim.streamState()).toBe('connected');
      expect(rec.log).toEqual([]); // not even onConnected inside connect()
      await sim.submitOrder(order({ clientOrderId: 'e-1', qty: '4' }));
      expect(rec.log).toEqual([]); // the ack comes before any event
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:e-1', 'partial_fill:e-1', 'fill:e-1']);
    });

    it('awaits an async handler before delivering the next update', async () => {
      const { sim } = makeSim();
      const seen: string[] = [];
      await sim.connect({
        onConnected: () => undefined,
        onUpdate: async (u) => {
          seen.push(`start:${u.event}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
          seen.push(`end:${u.event}`);
        },
      });
      await sim.submitOrder(order());
      await sim.settle();
      expect(seen).toEqual(['start:new', 'end:new', 'start:fill', 'end:fill']);
    });

    it('keeps delivering when a handler throws', async () => {
      const { sim } = makeSim();
      const events: string[] = [];
      await sim.connect({
        onConnected: () => undefined,
        onUpdate: (u) => {
          events.push(u.event);
          if (u.event === 'new') throw new Error('consumer bug');
        },
      });
      await sim.submitOrder(order());
      await sim.settle();
      expect(events).toEqual(['new', 'fill']);
      expect(sim.handlerErrors).toHaveLength(1);
    });

    it('stops delivery on disconnect and says reconnect=true on the next connect', async () => {
      const { sim } = makeSim();
      const states: string[] = [];
      const rec: string[] = [];
      const handlers = {
        onUpdate: (u: OrderUpdate) => void rec.push(u.event),
        onConnected: (reconnect: boolean) => void rec.push(`connected:${reconnect}`),
        onStateChange: (s: string) => void states.push(s),
      };
      await sim.connect(handlers);
      await sim.submitOrder(order());
      await sim.disconnect(); // queued, undelivered updates are dropped
      expect(sim.streamState()).toBe('disconnected');
      await sim.submitOrder(order());
      await sim.settle();
      expect(rec).toEqual([]);
      await sim.connect(handlers);
      await sim.submitOrder(order());
      await sim.settle();
      expect(rec).toEqual(['connected:true', 'new', 'fill']);
      expect(states).toEqual(['connecting', 'connected', 'disconnected', 'connecting', 'connected']);
    });

    it('a dropped stream loses updates until restored, then signals a reconnect', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      await sim.settle();
      sim.dropStream();
      const lost = await sim.submitOrder(order({ clientOrderId: 'lost-1' }));
      sim.restoreStream();
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'connected:true']);
      expect(await sim.getOrder(lost.id)).toMatchObject({ status: 'filled' }); // REST still knows
    });

    it('emits fills after fillLatencyMs and acks after latencyMs', async () => {
      const { sim } = makeSim({ latencyMs: 5, fillLatencyMs: 10 });
      const rec = await record(sim);
      const ack = await sim.submitOrder(order({ clientOrderId: 'slow' }));
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'new' });
      await sim.settle();
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'filled' });
      expect(rec.log).toEqual(['connected:false', 'new:slow', 'fill:slow']);
    });
  });

  describe('on a manual scheduler', () => {
    const manual = (latencyMs: number, fillLatencyMs: number) => {
      const scheduler = new ManualScheduler();
      return { scheduler, ...makeSim({ clock: scheduler.clock, scheduler, latencyMs, fillLatencyMs }) };
    };

    it('answers a command after latencyMs and fills after fillLatencyMs, on the scheduler’s time', async () => {
      const { sim, scheduler } = manual(50, 200);
      const rec = await record(sim);
      let acked = false;
      const answer = sim.submitOrder(order({ clientOrderId: 'timed' })).then((ack) => {
        acked = true;
        return ack;
      });
      await scheduler.advance(49);
      expect(acked).toBe(false);
      expect(await sim.getOrderByClientOrderId('timed')).toBeNull();
      await scheduler.advance(1);
      const ack = await answer;
      expect(ack.status).toBe('new');
      expect(rec.log).toEqual(['connected:false', 'new:timed']);
      await scheduler.advance(199);
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'new' });
      await scheduler.advance(1);
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'filled' });
      expect(rec.log).toEqual(['connected:false', 'new:timed', 'fill:timed']);
      expect(rec.updates[1].at.getTime() - ack.createdAt.getTime()).toBe(200);
      await sim.settle();
    });

    it('delivers stream updates only when the scheduler runs (never inside the call)', async () => {
      const { sim, scheduler } = manual(0, 0);
      const rec = await record(sim);
      expect(rec.log).toEqual([]);
      await scheduler.runDue();
      expect(rec.log).toEqual(['connected:false']);
      await sim.submitOrder(order({ clientOrderId: 'now' }));
      expect(rec.log).toEqual(['connected:false']);
      await scheduler.runDue();
      expect(rec.log).toEqual(['connected:false', 'new:now', 'fill:now']);
    });

    it('a deadline shorter than the latency: unknown outcome at the deadline, the order lands at the latency', async () => {
      const { sim, scheduler } = manual(100, 0);
      const outcome = rejection(sim.submitOrder(order({ clientOrderId: 'late-manual' }), { timeoutMs: 30 }));
      await scheduler.advance(30);
      expect(await outcome).toMatchObject({ kind: 'unknown_outcome' });
      expect(await sim.getOrderByClientOrderId('late-manual')).toBeNull();
      await scheduler.advance(70);
      expect(await sim.getOrderByClientOrderId('late-manual')).toMatchObject({ status: 'filled' });
    });
  });

  describe('injected faults', () => {
    it('acceptThenLose: the call throws unknown_outcome but exactly one order exists for the id', async () => {
      const { sim } = makeSim();
      sim.failNext('unknown_outcome', 1, { acceptThenLose: true });
      const req = order({ clientOrderId: 'lost' });
      expect(await rejection(sim.submitOrder(req))).toMatchObject({ kind: 'unknown_outcome' });
      const found = await sim.getOrderByClientOrderId('lost');
      expect(found).toMatchObject({ clientOrderId: 'lost', status: 'filled' });
      // A blind resubmission with the same id is refused as a duplicate, never a second order.
      expect(await rejection(sim.submitOrder(req))).toMatchObject({ details: { duplicateClientOrderId: true } });
      const all = await sim.listOrders({ status: 'all' });
      expect(all.filter((o) => o.clientOrderId === 'lost')).toHaveLength(1);
      expect(sim.submissionCount('lost')).toBe(2);
    });

    it('unknown_outcome without acceptance leaves no order; retryable carries retry-after', async () => {
      const { sim } = makeSim();
      sim.failNext('unknown_outcome');
      sim.failNext('retryable', 1, { retryAfterMs: 250 });
      expect(await rejection(sim.submitOrder(order({ clientOrderId: 'u-1' })))).toMatchObject({
        kind: 'unknown_outcome',
      });
      expect(await sim.getOrderByClientOrderId('u-1')).toBeNull();
      expect(await rejection(sim.submitOrder(order({ clientOrderId: 'u-1' })))).toMatchObject({
        kind: 'retryable',
        details: { status: 429, retryAfterMs: 250 },
      });
      await expect(sim.submitOrder(order({ clientOrderId: 'u-1' }))).resolves.toMatchObject({ status: 'new' });
      expect(sim.pendingFaults()).toBe(0);
    });

    it('rejected: definitive refusal, or after the ack as a rejected event', async () => {
      const { sim } = makeSim();
      const rec = await record(sim);
      sim.failNext('rejected', 2);
      expect(await rejection(sim.submitOrder(order()))).toMatchObject({ kind: 'rejected' });
      expect(await rejection(sim.submitOrder(order()))).toMatchObject({ kind: 'rejected' });
      sim.failNext('rejected', 1, { afterAck: true });
      const ack = await sim.submitOrder(order({ clientOrderId: 'venue-no' }));
      expect(ack.status).toBe('new');
      await sim.settle();
      expect(rec.log).toEqual(['connected:false', 'new:venue-no', 'rejected:venue-no']);
      expect(await sim.getOrder(ack.id)).toMatchObject({ status: 'rejected', filledQty: '0' });
    });

    it('a deadline shorter than the latency is an unknown outcome, and the order still lands', async () => {
      const { sim } = makeSim({ latencyMs: 20 });
      expect(await rejection(sim.submitOrder(order({ clientOrderId: 'late' }), { timeoutMs: 5 }))).toMatchObject({
        kind: 'unknown_outcome',
      });
      await sim.settle();
      expect(await sim.getOrderByClientOrderId('late')).toMatchObject({ status: 'filled' });
    });
  });

  describe('properties', () => {
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('trade' as const),
        side: fc.constantFrom('buy', 'sell'),
        qty: fc.integer({ min: 1, max: 50 }),
      }),
      fc.record({ kind: fc.constant('price' as const), cents: fc.integer({ min: 1, max: 50000 }) }),
    );

    it('position qty is the signed sum of market orders; cumulative filled qty never decreases per order', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { maxLength: 25 }), fc.integer({ min: 1, max: 4 }), async (steps, parts) => {
          const { sim } = makeSim({ startingCash: '1000000000', partialFills: parts });
          const rec = await record(sim);
          let expected = new Decimal(0);
          let cash = new Decimal('1000000000');
          for (const s of steps) {
            if (s.kind === 'price') {
              sim.setPrice('AAPL', new Decimal(s.cents).div(100).toFixed());
              continue;
            }
            const price = new Decimal(sim.referencePrice('AAPL'));
            await sim.submitOrder(order({ side: s.side as 'buy' | 'sell', qty: String(s.qty) }));
            const signed = s.side === 'buy' ? new Decimal(s.qty) : new Decimal(-s.qty);
            expected = expected.plus(signed);
            cash = cash.minus(signed.mul(price));
          }
          await sim.settle();
          const position = (await sim.listPositions()).find((p) => p.symbol === 'AAPL');
          expect(position?.qty ?? '0').toBe(expected.toFixed());
          expect((await sim.getAccount()).cash).toBe(cash.toFixed());

          const lastFilled = new Map<string, Decimal>();
          for (const u of rec.updates) {
            const filled = new Decimal(u.order.filledQty);
            const previous = lastFilled.get(u.order.id) ?? new Decimal(0);
            expect(filled.gte(previous)).toBe(true);
            lastFilled.set(u.order.id, filled);
          }
          const fills = rec.updates.filter((u) => u.execution !== undefined);
          expect(new Set(fills.map((u) => u.execution?.executionId)).size).toBe(fills.length);
          if (fills.length > 0) expect(fills[fills.length - 1].execution?.positionQty).toBe(expected.toFixed());
        }),
        { numRuns: 60 },
      );
    });
  });
});
