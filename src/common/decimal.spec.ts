import fc from 'fast-check';
import { Decimal, decimalPlaces, normalizeDecimal, normalizeWholeQuantity } from './decimal';

describe('normalizeDecimal (docs/api.md#client_order_id-and-idempotency)', () => {
  it.each<[unknown, string]>([
    [150.5, '150.5'],
    ['150.50', '150.5'],
    ['150.00', '150'],
    [150, '150'],
    ['150', '150'],
    ['0.10', '0.1'],
    ['0', '0'],
    [0, '0'],
    [1e-7, '0.0000001'],
    [0.1, '0.1'],
    [123456789.12345678, '123456789.12345678'],
    [1e21, '1000000000000000000000'],
    [' 12.5 ', '12.5'],
    ['0012.50', '12.5'],
    ['0.000000010', '0.00000001'],
  ])('%p → %p', (input, expected) => {
    expect(normalizeDecimal(input)).toBe(expected);
  });

  it.each<[string, unknown]>([
    ['an exponent string', '1e5'],
    ['an upper-case exponent string', '1E5'],
    ['a negative number', -1],
    ['a negative small number', -0.01],
    ['a negative string', '-1'],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['an empty string', ''],
    ['a blank string', '   '],
    ['a word', 'abc'],
    ['a hex string', '0x10'],
    ['a string with a plus sign', '+1'],
    ['a string with a thousands separator', '1,000'],
    ['two dots', '1.2.3'],
    ['null', null],
    ['undefined', undefined],
    ['a boolean', true],
    ['an object', { value: 1 }],
    ['an array', [1]],
    ['a bigint', BigInt(10)],
  ])('%s → undefined', (_name, input) => {
    expect(normalizeDecimal(input)).toBeUndefined();
  });
});

describe('normalizeWholeQuantity (docs/api.md#numbers-and-decimals: qty is whole shares)', () => {
  it.each<[unknown, string]>([
    [10, '10'],
    ['10', '10'],
    [10.0, '10'],
    ['10.0', '10'],
    ['10.000', '10'],
    [' 10 ', '10'],
    [1_000_000_000, '1000000000'],
  ])('%p → %p', (input, expected) => {
    expect(normalizeWholeQuantity(input)).toBe(expected);
  });

  it.each<unknown>([10.5, '10.5', '10.01', 'abc', -1, '-1', '1e3', NaN, Infinity, null, undefined, {}, ''])(
    '%p → undefined',
    (input) => {
      expect(normalizeWholeQuantity(input)).toBeUndefined();
    },
  );
});

describe('decimalPlaces', () => {
  it.each<[string, number]>([
    ['150', 0],
    ['150.5', 1],
    ['0.00000001', 8],
    ['1.123456789', 9],
  ])('%p has %p decimal places', (s, n) => {
    expect(decimalPlaces(s)).toBe(n);
  });
});

describe('normalizeDecimal properties', () => {
  const decimalStringArb = fc
    .tuple(
      fc.stringMatching(/^\d{1,25}$/),
      fc.option(fc.stringMatching(/^\d{1,25}$/), { nil: null }),
      fc.constantFrom('', ' ', '  '),
      fc.constantFrom('', ' ', '\t'),
    )
    .map(([int, frac, lead, trail]) => `${lead}${int}${frac === null ? '' : `.${frac}`}${trail}`);

  it('is idempotent, exact and canonical for decimal strings', () => {
    fc.assert(
      fc.property(decimalStringArb, (input) => {
        const once = normalizeDecimal(input);
        expect(once).toBeDefined();
        expect(normalizeDecimal(once)).toBe(once);
        expect(new Decimal(once!).equals(new Decimal(input.trim()))).toBe(true);
        expect(once).not.toMatch(/[eE]/);
        expect(once).not.toMatch(/\.\d*0$/);
        expect(once).not.toMatch(/\.$/);
        // No leading zeros either: one spelling per value.
        expect(once).toMatch(/^(0|[1-9]\d*)(\.\d*[1-9])?$/);
      }),
      { numRuns: 1000 },
    );
  });

  it('two spellings of one value normalize to the same string', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[1-9]\d{0,12}$/),
        fc.option(fc.stringMatching(/^\d{0,8}[1-9]$/), { nil: null }),
        fc.nat({ max: 5 }),
        fc.nat({ max: 5 }),
        (int, frac, leadingZeros, trailingZeros) => {
          const plain = frac === null ? int : `${int}.${frac}`;
          const padded = `${'0'.repeat(leadingZeros)}${int}.${frac ?? ''}${'0'.repeat(trailingZeros + (frac === null ? 1 : 0))}`;
          expect(normalizeDecimal(padded)).toBe(plain);
          expect(normalizeDecimal(plain)).toBe(plain);
        },
      ),
    );
  });

  it('a JSON number normalizes to the shortest decimal that reads back as the same double', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e15, noNaN: true, noDefaultInfinity: true }), (n) => {
        const s = normalizeDecimal(n);
        expect(s).toBeDefined();
        expect(s).not.toMatch(/[eE]/);
        expect(Number(s)).toBe(n === 0 ? 0 : n);
        expect(new Decimal(s!).equals(new Decimal(String(n)))).toBe(true);
      }),
    );
  });
});
