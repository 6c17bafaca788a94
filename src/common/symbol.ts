/**
 * Ticker symbols (docs/security.md#input-validation, docs/api.md#numbers-and-decimals).
 *
 * A symbol is checked in its raw form, after trimming and before upper-casing:
 * Unicode case mapping turns `ſ` into `S` and `ß` into `SS`, so a rule checked
 * only after `toUpperCase()` would let non-ASCII text through as a different
 * ticker. The raw form must be ASCII letters, digits, `.` and `/`, start with a
 * letter or digit, and every `.` or `/` must be followed by a letter or digit
 * (no `..`, `//`, `./` or a trailing separator): a symbol lands in broker URL
 * paths (`/v2/positions/{symbol}`), where a dot-segment would name another
 * resource.
 */

/** A symbol as stored and sent: upper-case, 1-10 characters, no dot-segments. */
export const SYMBOL_PATTERN = /^[A-Z0-9](?:[A-Z0-9]|[./](?=[A-Z0-9])){0,9}$/;

/** The same rule over the raw (trimmed) input, ASCII letters of either case; no `i` flag (Unicode folding). */
const RAW_SYMBOL_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9]|[./](?=[A-Za-z0-9])){0,9}$/;

export const SYMBOL_PROBLEM =
  'must be 1-10 ASCII characters of A-Z, 0-9, "." or "/", starting with a letter or digit, with no ".." or "//" and no trailing "." or "/"';

/** The normalized symbol (trimmed, then upper-cased), or null when the raw value is not a symbol. */
export function parseSymbol(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const trimmed = raw.trim();
  if (!RAW_SYMBOL_PATTERN.test(trimmed)) return null;
  // ASCII only from here on, so upper-casing maps one character to one character.
  return trimmed.toUpperCase();
}

export function isSymbol(value: unknown): value is string {
  return typeof value === 'string' && SYMBOL_PATTERN.test(value);
}
