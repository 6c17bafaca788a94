/**
 * The symbol rule (./symbol.ts): checked on the raw ASCII form, then upper-cased.
 * Properties over raw strings mixing ASCII, separators and characters whose
 * Unicode case mapping lands on ASCII or changes length.
 */
import fc from 'fast-check';
import { isSymbol, parseSymbol, SYMBOL_PATTERN } from './symbol';
import { SYMBOL_RULE } from './validators';

/** Characters a hostile or sloppy caller might send: ASCII, separators, and case-mapping traps. */
const TRICKY = ['ſ', 'ß', 'ı', 'İ', '\u212a', 'ﬀ', 'ŉ', 'é', 'Ａ', '\u0000', '\u00a0', ' ', '\t', '-', '_', '\\'];
const char = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...'abcxyzABCXYZ0129') },
  { weight: 3, arbitrary: fc.constantFrom('.', '/') },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const rawSymbol = fc.string({ unit: char, maxLength: 14 });

describe('parseSymbol', () => {
  it.each([
    ['aapl', 'AAPL'],
    [' brk.b ', 'BRK.B'],
    ['btc/usd', 'BTC/USD'],
    ['A', 'A'],
    ['1234567890', '1234567890'],
  ])('accepts %j as %j', (raw, want) => {
    expect(parseSymbol(raw)).toBe(want);
  });

  it.each([
    ['ſpy', 'folds to SPY'],
    ['ß', 'folds to SS'],
    ['\u212aO', 'Kelvin sign folds to K'],
    ['ﬀ', 'folds to FF'],
    ['.', 'a dot-segment'],
    ['..', 'a dot-segment'],
    ['//', 'an empty path segment'],
    ['../..', 'a path traversal'],
    ['A..B', 'a double dot'],
    ['A//B', 'a double slash'],
    ['A./B', 'a dot-segment'],
    ['/A', 'a leading slash'],
    ['.A', 'a leading dot'],
    ['A.', 'a trailing dot'],
    ['A/', 'a trailing slash'],
    ['A B', 'a space'],
    ['A\u0000', 'a NUL'],
    ['ＡＡＰＬ', 'full-width letters'],
    ['', 'empty'],
    ['   ', 'blank'],
    ['ABCDEFGHIJK', 'too long'],
  ])('refuses %j (%s)', (raw) => {
    expect(parseSymbol(raw)).toBeNull();
    expect(SYMBOL_RULE.isValid(SYMBOL_RULE.normalize(raw))).toBe(false);
  });

  it('refuses what is not a string', () => {
    for (const v of [null, undefined, 1, ['A'], { s: 'A' }]) expect(parseSymbol(v)).toBeNull();
  });

  it('property: an accepted symbol is ASCII, has no dot-segment or empty segment, and passes the stored pattern', () => {
    fc.assert(
      fc.property(rawSymbol, (raw) => {
        const s = parseSymbol(raw);
        if (s === null) return;
        expect(s).toMatch(/^[\x21-\x7e]+$/);
        expect(s.split(/[./]/).every((seg) => seg.length > 0)).toBe(true);
        expect(s).not.toMatch(/\.\.|\/\/|[./]$|^[./]/);
        expect(SYMBOL_PATTERN.test(s)).toBe(true);
        expect(isSymbol(s)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: upper-casing an accepted raw symbol never changes its length', () => {
    fc.assert(
      fc.property(rawSymbol, (raw) => {
        const s = parseSymbol(raw);
        if (s === null) return;
        expect(s.length).toBe(raw.trim().length);
        expect(s).toBe(raw.trim().toUpperCase());
      }),
      { numRuns: 5000 },
    );
  });

  it('property: the field rule agrees with parseSymbol, and a normalized symbol is a fixed point', () => {
    fc.assert(
      fc.property(rawSymbol, (raw) => {
        const s = parseSymbol(raw);
        const v = SYMBOL_RULE.normalize(raw);
        expect(SYMBOL_RULE.isValid(v)).toBe(s !== null);
        if (s !== null) expect(parseSymbol(s)).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });
});
