/**
 * Exact decimal handling for prices and quantities (docs/architecture.md#money-is-exact, docs/api.md#numbers-and-decimals). Values
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

/** Decimal places of a price that is rounded because its exact value does not terminate. */
export const PRICE_DP = 8;

/**
 * Intermediate results (products and sums of prices and quantities) are kept
 * exact: the shared Decimal rounds to 40 significant digits, this one does not
 * in practice.
 */
const Exact = Decimal.clone({ precision: 1000, rounding: Decimal.ROUND_HALF_EVEN });

/** A value from decimal text (string or Decimal) in exact arithmetic. */
export function exact(v: string | Decimal): Decimal {
  return new Exact(v);
}

/** Plain decimal text: no exponent, no trailing zeros, never `-0`. */
export function plain(d: Decimal): string {
  return d.isZero() ? '0' : d.toFixed();
}

function rational(d: Decimal): { n: bigint; scale: bigint } {
  const text = d.toFixed();
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const n = BigInt(whole + fraction);
  return { n: negative ? -n : n, scale: 10n ** BigInt(fraction.length) };
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * num / den, exact when the quotient terminates, otherwise rounded half-even
 * to `dp` decimal places. Throws RangeError on a zero divisor.
 */
export function quotient(num: string | Decimal, den: string | Decimal, dp: number = PRICE_DP): Decimal {
  const a = rational(exact(num));
  const b = rational(exact(den));
  if (b.n === 0n) throw new RangeError('division by zero');
  let n = a.n * b.scale;
  let d = a.scale * b.n;
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n < 0n ? -n : n, d);
  n /= g;
  d /= g;
  let rest = d;
  let twos = 0;
  let fives = 0;
  while (rest % 2n === 0n) [rest, twos] = [rest / 2n, twos + 1];
  while (rest % 5n === 0n) [rest, fives] = [rest / 5n, fives + 1];
  if (rest === 1n) {
    const k = Math.max(twos, fives);
    return new Exact(`${n * (10n ** BigInt(k) / d)}e-${k}`);
  }
  const scaled = n * 10n ** BigInt(dp);
  let q = scaled / d; // truncates toward zero
  const r = scaled % d;
  const twiceR = 2n * (r < 0n ? -r : r);
  if (twiceR > d || (twiceR === d && q % 2n !== 0n)) q += n < 0n ? -1n : 1n;
  return new Exact(`${q}e-${dp}`);
}
