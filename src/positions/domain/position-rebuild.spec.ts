import fc from 'fast-check';
import { exact, plain } from '../../common/decimal';
import { rebuildPosition, RecordedFill } from './position-rebuild';

const fillArb = fc.record({
  side: fc.constantFrom<'buy' | 'sell'>('buy', 'sell'),
  qty: fc.integer({ min: 1, max: 50 }).map(String),
  price: fc.integer({ min: 1, max: 50_000 }).map((c) => plain(exact(String(c)).div(100))),
});

describe('rebuildPosition', () => {
  it('depends on the fills and their execution times only, not on the order they were recorded in', () => {
    fc.assert(
      fc.property(fc.array(fillArb, { minLength: 1, maxLength: 12 }), fc.integer(), (raw, seed) => {
        const fills: RecordedFill[] = raw.map((f, i) => ({
          ...f,
          id: String(i + 1),
          executedAt: new Date(1_000 * (i + 1)),
          realizedPl: '0',
        }));
        const shuffled = [...fills].sort(
          (a, b) => ((Number(a.id) * 7919 + seed) % 13) - ((Number(b.id) * 7919 + seed) % 13),
        );
        expect(rebuildPosition(shuffled).position).toEqual(rebuildPosition(fills).position);
        // Realized P&L of the whole is the sum of the per-fill figures it reports.
        const r = rebuildPosition(fills);
        const perFill = new Map(r.changedFills.map((c) => [c.id, c.realizedPl]));
        const sum = fills.reduce((s, f) => s.plus(perFill.get(f.id) ?? f.realizedPl), exact('0'));
        expect(plain(sum)).toBe(r.position.realizedPl);
      }),
    );
  });

  it('reprices a late fill against the position as it was at its execution time', () => {
    // Buy 10 @ 100, sell 10 @ 110 (recorded), then the missed buy 10 @ 90 that happened between them.
    const r = rebuildPosition([
      { id: '1', side: 'buy', qty: '10', price: '100', executedAt: new Date(1000), realizedPl: '0' },
      { id: '2', side: 'sell', qty: '10', price: '110', executedAt: new Date(3000), realizedPl: '100' },
      { id: '3', side: 'buy', qty: '10', price: '90', executedAt: new Date(2000), realizedPl: '0' },
    ]);
    expect(r.position).toEqual({ qty: '10', avgEntryPrice: '95', realizedPl: '150' });
    expect(r.changedFills).toEqual([{ id: '2', realizedPl: '150' }]);
  });
});
