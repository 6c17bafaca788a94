import fc from 'fast-check';
import {
  budgetInForce,
  cancelReserve,
  classLimit,
  classOf,
  holdMs,
  mayGoAhead,
  nextToServe,
  PACE_CLASSES,
  PaceClass,
  shrunkBudget,
  Waiting,
} from './pacing.decision';

const RANK: Record<PaceClass, number> = { cancel: 0, submit: 1, read: 2 };
const waitingArb = fc.array(
  fc.record({ cls: fc.constantFrom(...PACE_CLASSES), seq: fc.integer({ min: 0, max: 1_000_000 }) }),
  { maxLength: 50 },
);

describe('nextToServe', () => {
  it('serves cancels, then submissions, then reads, oldest first within a class', () => {
    const waiting: Waiting[] = [
      { cls: 'read', seq: 1 },
      { cls: 'submit', seq: 3 },
      { cls: 'submit', seq: 2 },
      { cls: 'cancel', seq: 9 },
    ];
    const order: string[] = [];
    const left = [...waiting];
    while (left.length) order.push(`${left[0] && left.splice(nextToServe(left), 1)[0].cls}`);
    expect(order).toEqual(['cancel', 'submit', 'submit', 'read']);
    expect(nextToServe(waiting.slice(1, 3))).toBe(1);
    expect(nextToServe([])).toBe(-1);
  });

  it('property: nothing waiting outranks the one served', () => {
    fc.assert(
      fc.property(waitingArb, (waiting) => {
        const i = nextToServe(waiting);
        if (!waiting.length) return i === -1;
        const s = waiting[i];
        return waiting.every((w) => RANK[w.cls] > RANK[s.cls] || (RANK[w.cls] === RANK[s.cls] && w.seq >= s.seq));
      }),
    );
  });

  it('property: serving repeatedly drains every waiter exactly once', () => {
    fc.assert(
      fc.property(waitingArb, (waiting) => {
        const left = waiting.map((w, id) => ({ ...w, id }));
        const served: number[] = [];
        while (left.length) served.push(left.splice(nextToServe(left), 1)[0].id);
        return served.length === waiting.length && new Set(served).size === waiting.length;
      }),
    );
  });
});

describe('mayGoAhead', () => {
  it('a call jumps no queue of its class or a higher one', () => {
    expect(mayGoAhead('submit', [])).toBe(true);
    expect(mayGoAhead('submit', [{ cls: 'read', seq: 1 }])).toBe(true);
    expect(mayGoAhead('submit', [{ cls: 'submit', seq: 1 }])).toBe(false);
    expect(mayGoAhead('submit', [{ cls: 'cancel', seq: 1 }])).toBe(false);
    expect(mayGoAhead('cancel', [{ cls: 'submit', seq: 1 }])).toBe(true);
  });
});

describe('classOf', () => {
  it('classes the port methods; the stream is not paced', () => {
    expect(classOf('cancelOrder')).toBe('cancel');
    expect(classOf('cancelAllOrders')).toBe('cancel');
    expect(classOf('submitOrder')).toBe('submit');
    expect(classOf('replaceOrder')).toBe('submit');
    expect(classOf('getOrderByClientOrderId')).toBe('read');
    expect(classOf('listPositions')).toBe('read');
    expect(classOf('connect')).toBeNull();
    expect(classOf('disconnect')).toBeNull();
  });
});

describe('shrunkBudget / budgetInForce', () => {
  it('a 429 shrinks the budget in force by a tenth, never below 1', () => {
    expect(shrunkBudget(200, null)).toBe(180);
    expect(shrunkBudget(200, 180)).toBe(162);
    expect(shrunkBudget(1, null)).toBe(1);
    expect(shrunkBudget(200, 500)).toBe(180);
  });

  it('property: the shrunk budget is within [1, configured] and below any earlier shrink', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: null }),
        (configured, current) => {
          const s = shrunkBudget(configured, current);
          const inForce = current === null ? configured : Math.min(configured, current);
          return s >= 1 && s <= configured && (s < inForce || inForce === 1);
        },
      ),
    );
  });

  it('the configured budget holds unless a valid shrink is in force', () => {
    expect(budgetInForce(200, null)).toBe(200);
    expect(budgetInForce(200, Number.NaN)).toBe(200);
    expect(budgetInForce(200, 0)).toBe(200);
    expect(budgetInForce(200, 120)).toBe(120);
    expect(budgetInForce(200, 500)).toBe(200);
  });
});

describe('holdMs', () => {
  it('covers the windows the submissions ahead need, one more, and the submit timeout', () => {
    expect(holdMs(0, 200, 60_000, 10_000)).toBe(130_000);
    expect(holdMs(200, 200, 60_000, 10_000)).toBe(190_000);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), (ahead, budget) => {
        const windowMs = 60_000;
        // Long enough for everything ahead of it at the full budget.
        return holdMs(ahead, budget, windowMs, 0) >= Math.ceil((ahead + 1) / budget) * windowMs + windowMs;
      }),
    );
  });
});

describe('cancelReserve / classLimit', () => {
  it('keeps a tenth of the budget (at least one call) for cancels; submissions and reads get the rest', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (budget) => {
        const reserve = cancelReserve(budget);
        expect(classLimit('cancel', budget)).toBe(budget);
        expect(classLimit('submit', budget)).toBe(budget - reserve);
        expect(classLimit('read', budget)).toBe(budget - reserve);
        if (budget === 1) expect(reserve).toBe(0);
        else {
          expect(reserve).toBeGreaterThanOrEqual(1);
          expect(reserve).toBeLessThanOrEqual(Math.max(1, budget / 10));
          expect(classLimit('submit', budget)).toBeGreaterThanOrEqual(1);
        }
      }),
    );
    expect(cancelReserve(200)).toBe(20);
    expect(cancelReserve(600)).toBe(60);
  });
});
