import fc from 'fast-check';
import { IdFilter } from './id-filter';

describe('IdFilter', () => {
  it('never answers false for an id it was given', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 48 }), { maxLength: 200 }), (ids) => {
        const f = new IdFilter();
        for (const id of ids) f.add(id);
        return ids.every((id) => f.mightContain(id));
      }),
    );
  });

  it('answers false for nearly every id it was not given (≤ 1 % at 100,000 ids)', () => {
    const f = new IdFilter();
    for (let i = 0; i < 100_000; i++) f.add(`order-${i}`);
    let matches = 0;
    for (let i = 0; i < 20_000; i++) if (f.mightContain(`other-${i}`)) matches += 1;
    expect(matches / 20_000).toBeLessThan(0.01);
    expect(f.size).toBe(100_000);
  });
});
