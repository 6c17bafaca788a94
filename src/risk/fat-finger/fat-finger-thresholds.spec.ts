import fc from 'fast-check';
import {
  applyUpdate,
  effectiveThresholds,
  FatFingerLimits,
  FatFingerThresholds,
  parseThresholds,
  parseThresholdsUpdate,
  resolveThresholds,
  serializeThresholds,
  StoredThresholds,
  toThresholdsBody,
} from './fat-finger-thresholds';

const configured: FatFingerLimits = {
  maxNotional: '100000',
  maxQty: '10000',
  maxAdvPct: '0.05',
  maxPriceAgeSeconds: 30,
};
const untouched: StoredThresholds = {
  defaults: { maxNotional: null, maxQty: null, maxAdvPct: null, maxPriceAgeSeconds: null },
  symbolOverrides: {},
  updatedAt: null,
  updatedBy: null,
  version: 0,
};
const fieldsOf = (body: Record<string, unknown>) =>
  parseThresholdsUpdate(body)
    .problems.map((p) => p.field)
    .sort();

describe('resolveThresholds / effectiveThresholds', () => {
  it('uses the configured defaults for every default never set', () => {
    const t = resolveThresholds({ ...untouched, defaults: { ...untouched.defaults, maxQty: '500' } }, configured);
    expect(t.defaults).toEqual({ ...configured, maxQty: '500' });
  });

  it('merges a symbol override over the defaults, field by field, whatever the symbol case', () => {
    const t = resolveThresholds({ ...untouched, symbolOverrides: { AAPL: { maxNotional: '5000' } } }, configured);
    expect(effectiveThresholds(t, ' aapl ')).toEqual({ ...configured, maxNotional: '5000' });
    expect(effectiveThresholds(t, 'MSFT')).toEqual(configured);
  });
});

describe('parseThresholdsUpdate', () => {
  it('normalizes numbers and strings, and symbols', () => {
    const r = parseThresholdsUpdate({
      defaults: { max_notional: 250000.5, max_qty: '5000', max_adv_pct: '0.10', max_price_age_seconds: '15' },
      symbol_overrides: { ' aapl ': { max_qty: 100 }, tsla: null, 'BRK.B': { max_notional: null } },
    });
    expect(r.problems).toEqual([]);
    expect(r.update).toEqual({
      defaults: { maxNotional: '250000.5', maxQty: '5000', maxAdvPct: '0.1', maxPriceAgeSeconds: 15 },
      symbolOverrides: { AAPL: { maxQty: '100' }, TSLA: null, 'BRK.B': { maxNotional: null } },
    });
  });

  it('names every bad field by its path', () => {
    expect(
      fieldsOf({
        defaults: { max_notional: 0, max_qty: -5, max_adv_pct: '1.01', max_price_age_seconds: 1.5, extra: 1 },
        symbol_overrides: {
          AAPL: { max_notional: 'abc', max_price_age_seconds: 5, other: 1 },
          'NOT A SYMBOL': { max_qty: 1 },
          MSFT: 7,
        },
      }),
    ).toEqual([
      'defaults.extra',
      'defaults.max_adv_pct',
      'defaults.max_notional',
      'defaults.max_price_age_seconds',
      'defaults.max_qty',
      'symbol_overrides.AAPL.max_notional',
      'symbol_overrides.AAPL.max_price_age_seconds',
      'symbol_overrides.AAPL.other',
      'symbol_overrides.MSFT',
      'symbol_overrides.NOT A SYMBOL',
    ]);
  });

  it.each([
    ['zero', 0],
    ['negative', '-1'],
    ['non-numeric', 'lots'],
    ['an exponent', '1e5'],
    ['empty', ''],
    ['null', null],
    ['a boolean', true],
    ['too many decimals', '0.000000001'],
    ['too large', '1000000000000000000'],
  ])('refuses %s as a default', (_, v) => {
    expect(fieldsOf({ defaults: { max_notional: v } })).toEqual(['defaults.max_notional']);
  });

  it('takes max_adv_pct up to 1 inclusive, and max_price_age_seconds from 1 to 86400', () => {
    expect(fieldsOf({ defaults: { max_adv_pct: 1, max_price_age_seconds: 86400 } })).toEqual([]);
    expect(fieldsOf({ defaults: { max_adv_pct: '0.00000001', max_price_age_seconds: 1 } })).toEqual([]);
    expect(fieldsOf({ defaults: { max_adv_pct: '1.00000001', max_price_age_seconds: 86401 } })).toEqual([
      'defaults.max_adv_pct',
      'defaults.max_price_age_seconds',
    ]);
    expect(fieldsOf({ defaults: { max_price_age_seconds: 0 } })).toEqual(['defaults.max_price_age_seconds']);
  });

  it('refuses two keys naming one symbol, non-objects, and a change that changes nothing', () => {
    expect(fieldsOf({ symbol_overrides: { AAPL: { max_qty: 1 }, aapl: { max_qty: 2 } } })).toEqual([
      'symbol_overrides.aapl',
    ]);
    expect(fieldsOf({ defaults: [1], symbol_overrides: 'x' })).toEqual(['defaults', 'symbol_overrides']);
    expect(fieldsOf({})).toEqual(['defaults']);
    expect(fieldsOf({ defaults: {}, symbol_overrides: {} })).toEqual(['defaults']);
  });
});

describe('applyUpdate', () => {
  const stored: StoredThresholds = {
    ...untouched,
    defaults: { ...untouched.defaults, maxQty: '500' },
    symbolOverrides: { AAPL: { maxNotional: '5000', maxQty: '10' }, TSLA: { maxAdvPct: '0.01' } },
  };

  it('sets only what is named', () => {
    const next = applyUpdate(stored, { defaults: { maxNotional: '7' }, symbolOverrides: { AAPL: { maxQty: '20' } } });
    expect(next.defaults).toEqual({ ...stored.defaults, maxNotional: '7' });
    expect(next.symbolOverrides).toEqual({ AAPL: { maxNotional: '5000', maxQty: '20' }, TSLA: { maxAdvPct: '0.01' } });
  });

  it('removes an override set to null, and one whose every field is set to null', () => {
    const next = applyUpdate(stored, {
      defaults: {},
      symbolOverrides: { TSLA: null, AAPL: { maxNotional: null, maxQty: null }, MSFT: null },
    });
    expect(next.symbolOverrides).toEqual({});
  });

  it('removes one field of an override, keeping the others', () => {
    const next = applyUpdate(stored, { defaults: {}, symbolOverrides: { AAPL: { maxQty: null } } });
    expect(next.symbolOverrides.AAPL).toEqual({ maxNotional: '5000' });
  });

  it('does not change its input', () => {
    const copy = structuredClone(stored);
    applyUpdate(stored, { defaults: { maxQty: '1' }, symbolOverrides: { AAPL: null, NEW: { maxQty: '1' } } });
    expect(stored).toEqual(copy);
  });

  it('never leaves an empty override, whatever the changes (property)', () => {
    const field = fc
      .option(fc.constantFrom('1', '2'), { nil: undefined })
      .chain((v) => fc.constantFrom(v, null as string | null | undefined));
    const change = fc.option(fc.record({ maxNotional: field, maxQty: field, maxAdvPct: field }), { nil: null });
    const changes = fc.dictionary(fc.constantFrom('AAPL', 'TSLA', 'MSFT'), change);
    fc.assert(
      fc.property(fc.array(changes, { maxLength: 5 }), (steps) => {
        let s = stored;
        for (const symbolOverrides of steps) s = applyUpdate(s, { defaults: {}, symbolOverrides });
        for (const o of Object.values(s.symbolOverrides)) {
          expect(Object.keys(o).length).toBeGreaterThan(0);
          for (const v of Object.values(o)) expect(typeof v).toBe('string');
        }
      }),
    );
  });
});

describe('the body, and the cached copy', () => {
  const t: FatFingerThresholds = {
    defaults: configured,
    symbolOverrides: { TSLA: { maxAdvPct: '0.01' }, AAPL: { maxQty: '10' } },
    updatedAt: new Date('2026-03-02T15:00:00.000Z'),
    updatedBy: 'jane',
    version: 3,
  };

  it('renders snake_case with decimals as strings, the age as an integer, symbols sorted', () => {
    const body = toThresholdsBody(t);
    expect(body).toEqual({
      defaults: { max_notional: '100000', max_qty: '10000', max_adv_pct: '0.05', max_price_age_seconds: 30 },
      symbol_overrides: { AAPL: { max_qty: '10' }, TSLA: { max_adv_pct: '0.01' } },
      updated_at: '2026-03-02T15:00:00.000Z',
      updated_by: 'jane',
    });
    expect(Object.keys(body.symbol_overrides)).toEqual(['AAPL', 'TSLA']);
  });

  it('round-trips through the cache and refuses garbage', () => {
    expect(parseThresholds(serializeThresholds(t))).toEqual(t);
    expect(parseThresholds('nope')).toBeNull();
    expect(parseThresholds(JSON.stringify({ ...t, defaults: { ...configured, maxQty: '-1' } }))).toBeNull();
    expect(parseThresholds(JSON.stringify({ ...t, symbolOverrides: { X: { maxAdvPct: '2' } } }))).toBeNull();
    expect(parseThresholds(JSON.stringify({ ...t, version: 'x' }))).toBeNull();
  });
});
