import fc from 'fast-check';
import { GATEWAY_OUTCOMES, transition, TRANSITIONS } from '../../trading/order-state-machine';
import { ORDER_STATUSES, OrderStatus } from '../../trading/order-status';
import { AUDITED_STATUSES, decideSubmitOutcome } from './order-update.decision';
import { makeOrder, NOW } from '../../../test/support/order-update.fixtures';

// --- the gateway's own word -------------------------------------------------------------------------

const retryArb = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer({ min: 0, max: 10_000 }).map((s) => new Date(NOW.getTime() + s * 1000)),
);

describe('decideSubmitOutcome: properties', () => {
  it('follows the transition table, or counts one more attempt on a retry of the same status', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ORDER_STATUSES),
        fc.constantFrom(...ORDER_STATUSES),
        retryArb,
        fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
        fc.nat(5),
        (current, target, retryAt, errorMessage, retries) => {
          const order = makeOrder({ status: current, retryCount: retries, errorMessage: 'before' });
          const d = decideSubmitOutcome(order, target, { retryAt, errorMessage }, NOW);
          const retrying = current === target && retryAt !== undefined;
          const t = transition(current, target);
          if (!retrying && !t.applied) {
            expect(d.outcome).toBe('unchanged');
            expect(d.status).toBe(current);
            expect(d.patch).toBeNull();
            expect(d.events).toEqual([]);
            expect(d.audit).toEqual([]);
            expect(d.nextAttemptAt).toBeUndefined();
            return;
          }
          expect(d.outcome).toBe('applied');
          expect(d.status).toBe(target);
          if (!retrying) expect(TRANSITIONS[current].has(target)).toBe(true);
          // The gateway's own outcomes only ever end an order that was never sent.
          if (GATEWAY_OUTCOMES.has(target) && target !== current) expect(current).toBe('pending_new');
          expect(d.patch).toMatchObject({
            status: target,
            filledQty: order.filledQty,
            filledAvgPrice: order.filledAvgPrice,
            brokerOrderId: order.brokerOrderId,
            errorMessage: errorMessage ?? 'before',
            retryCount: retrying ? retries + 1 : retries,
            updatedAt: NOW,
          });
          expect(d.fill).toBeNull();
          expect(d.positionChange).toBeNull();
          expect(d.nextAttemptAt).toBe(retryAt);
          expect(d.events.map((e) => e.eventType)).toEqual(target !== current ? ['order.status'] : []);
          const action = retrying ? 'order.submit_retry_scheduled' : AUDITED_STATUSES[target];
          expect(d.audit.map((a) => a.action)).toEqual(action ? [action] : []);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never overwrites a status the broker already moved past', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<OrderStatus>('submitted_unconfirmed', 'rejected', 'failed', 'pending_new', 'canceled'),
        fc.constantFrom<OrderStatus>('new', 'partially_filled', 'filled', 'canceled', 'expired'),
        (own, brokers) => {
          const d = decideSubmitOutcome(makeOrder({ status: brokers }), own, {}, NOW);
          if (d.outcome === 'applied') expect(TRANSITIONS[brokers].has(own)).toBe(true);
          else expect(d.status).toBe(brokers);
        },
      ),
    );
  });
});
