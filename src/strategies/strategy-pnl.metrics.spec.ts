import fc from 'fast-check';
import { Decimal } from '../common/decimal';
import { boundedSeries, OTHER_STRATEGIES, StrategyPnlFigures } from './strategy-pnl.metrics';

const rowsArb = fc
  .uniqueArray(fc.stringMatching(/^[a-z]{1,6}$/), { maxLength: 30 })
  .chain((ids) =>
    fc.tuple(
      fc.constant(ids),
      fc.array(fc.tuple(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -1e6, max: 1e6 })), {
        minLength: ids.length,
        maxLength: ids.length,
      }),
    ),
  )
  .map(([ids, values]) =>
    ids.map((strategyId, i): StrategyPnlFigures => ({
      strategyId,
      realizedToday: new Decimal(values[i][0]).div(100),
      unrealized: new Decimal(values[i][1]).div(100),
    })),
  );

const sum = (rows: StrategyPnlFigures[], pick: (r: StrategyPnlFigures) => Decimal) =>
  rows.reduce((acc, r) => acc.plus(pick(r)), new Decimal(0)).toFixed();

describe('boundedSeries', () => {
  it('property: at most max series, by strategy id, the rest summed as _other; totals unchanged', () => {
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 2, max: 12 }), (rows, max) => {
        const out = boundedSeries(rows, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(sum(out, (r) => r.realizedToday)).toBe(sum(rows, (r) => r.realizedToday));
        expect(sum(out, (r) => r.unrealized)).toBe(sum(rows, (r) => r.unrealized));
        const ids = [...rows.map((r) => r.strategyId)].sort();
        if (rows.length <= max) expect(out.map((r) => r.strategyId)).toEqual(ids);
        else expect(out.map((r) => r.strategyId)).toEqual([...ids.slice(0, max - 1), OTHER_STRATEGIES]);
      }),
    );
  });
});
