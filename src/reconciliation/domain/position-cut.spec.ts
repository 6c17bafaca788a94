import fc from 'fast-check';
import { BrokerPosition } from '../../broker/broker-client.port';
import { comparePositions } from './compare-positions';
import { PositionView } from './reconcile';
import { positionsAtQuietCut } from './position-cut';

const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD'];
const qty = fc.integer({ min: -5, max: 5 }).map(String);
const book = fc.array(fc.record({ symbol: fc.constantFrom(...SYMBOLS), qty, avgEntryPrice: fc.constant('10') }), {
  maxLength: 4,
});
const uniq = (ps: PositionView[]): PositionView[] => [...new Map(ps.map((p) => [p.symbol, p])).values()];
const atBroker = (ps: PositionView[]): BrokerPosition[] =>
  ps.map((p) => ({ ...p, marketValue: '0', currentPrice: '10', unrealizedPl: '0' }));
/** Two comparisons (books vs broker, a moment apart) and the symbols that moved in between. */
const world = fc.record({
  local1: book.map(uniq),
  broker1: book.map(uniq),
  local2: book.map(uniq),
  broker2: book.map(uniq),
  moved: fc.subarray(SYMBOLS),
});

describe('positionsAtQuietCut (properties)', () => {
  it('never reports a symbol that moved, and reports only a difference both reads found', () => {
    fc.assert(
      fc.property(world, (w) => {
        const first = comparePositions(w.local1, atBroker(w.broker1));
        const second = comparePositions(w.local2, atBroker(w.broker2));
        const { confirmed, deferred } = positionsAtQuietCut(first, second, new Set(w.moved));
        const secondKeys = new Set(second.map((f) => f.key));
        for (const f of confirmed) {
          expect(w.moved).not.toContain(f.symbol);
          expect(secondKeys.has(f.key)).toBe(true);
          expect(first).toContainEqual(f);
        }
        for (const s of deferred) expect(w.moved).toContain(s);
        expect(confirmed.some((f) => deferred.includes(f.symbol))).toBe(false);
      }),
    );
  });

  it('reports every difference of a quiet symbol that both reads found', () => {
    fc.assert(
      fc.property(world, (w) => {
        const first = comparePositions(w.local1, atBroker(w.broker1));
        const second = comparePositions(w.local2, atBroker(w.broker2));
        const { confirmed } = positionsAtQuietCut(first, second, new Set(w.moved));
        const secondKeys = new Set(second.map((f) => f.key));
        const expected = first.filter((f) => !w.moved.includes(f.symbol) && secondKeys.has(f.key));
        expect(confirmed).toEqual(expected);
      }),
    );
  });

  it('the in-flight fill: the broker ahead of the books at both reads, in a symbol that traded, is deferred', () => {
    // The broker executed 5 AAA; the books have not heard yet, at either read.
    const first = comparePositions([], atBroker([{ symbol: 'AAA', qty: '5', avgEntryPrice: '10' }]));
    const second = comparePositions([], atBroker([{ symbol: 'AAA', qty: '5', avgEntryPrice: '10' }]));
    expect(positionsAtQuietCut(first, second, new Set(['AAA']))).toEqual({ confirmed: [], deferred: ['AAA'] });
    // The same difference in a symbol that did not move is a real one.
    expect(positionsAtQuietCut(first, second, new Set()).confirmed).toHaveLength(1);
  });
});
