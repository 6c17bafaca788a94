/**
 * Exact decimal handling for prices and quantities (SPEC §2.8, §11). Values
 * travel as strings; Decimal does the arithmetic; a binary float never holds
 * money.
 */
import Decimal from 'decimal.js';

Decimal.set({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -40, toExpPos: 40 });

export { Decimal };

const DECIMAL_STRING = /^\s*\d+(\.\d+)?\s*$/;

/**
 * Normalizes a price given as a JSON number or a decimal string to its plain
 * form: no exponent, no trailing zeros (`150.50` → `150.5`, `150.00` → `150`).
 * Returns undefined for anything that is not a non-negative decimal.
 */
export function normalizeDecimal(input: unknown): string | undefined {
  let d: Decimal;
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) return undefined;
    // String(n) is the shortest text that reads back as the same double,
    // i.e. what the client wrote for any price with up to 15 significant digits.
    d = new Decimal(String(input));
  } else if (typeof input === 'string' && DECIMAL_STRING.test(input)) {
    d = new Decimal(input.trim());
  } else {
    return undefined;
  }
  return d.toFixed();
}

/** Whole shares: `10`, `"10"`, `10.0` and `"10.0"` are all `"10"`; anything else is undefined. */
export function normalizeWholeQuantity(input: unknown): string | undefined {
  const normalized = normalizeDecimal(input);
  if (normalized === undefined || normalized.includes('.')) return undefined;
  return normalized;
}

export function decimalPlaces(normalized: string): number {
  const dot = normalized.indexOf('.');
  return dot === -1 ? 0 : normalized.length - dot - 1;
}
