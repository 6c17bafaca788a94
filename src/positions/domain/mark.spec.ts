import { chooseMark } from './mark';

describe('chooseMark', () => {
  const now = new Date('2026-01-05T15:00:00Z');
  const fresh = { price: '101.5', at: new Date(now.getTime() - 30_000) };
  const stale = { price: '99', at: new Date(now.getTime() - 30_001) };
  const fill = { price: '100', at: new Date('2026-01-05T14:00:00Z') };

  it('a market price at most the max age old is realtime', () => {
    expect(chooseMark(fresh, fill, now, 30_000)).toEqual({ price: '101.5', source: 'realtime', asOf: fresh.at });
  });

  it('a stale market price falls back to the last fill', () => {
    expect(chooseMark(stale, fill, now, 30_000)).toEqual({ price: '100', source: 'last_fill', asOf: fill.at });
  });

  it('no price at all is none', () => {
    expect(chooseMark(stale, null, now, 30_000)).toEqual({ price: null, source: 'none', asOf: null });
    expect(chooseMark(null, null, now, 30_000)).toEqual({ price: null, source: 'none', asOf: null });
  });
});
