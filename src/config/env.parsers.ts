/**
 * Small, strict parsers for environment variables. Each returns either a value
 * or an error string; the schema collects every error so one start-up failure
 * names every bad variable at once.
 */
import Decimal from 'decimal.js';
import { isIP } from 'node:net';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

export function parseBool(raw: string): Parsed<boolean> {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return ok(true);
  if (['false', '0', 'no', 'off'].includes(v)) return ok(false);
  return fail(`must be true or false, got "${raw}"`);
}

export function parseInteger(raw: string, min: number, max: number): Parsed<number> {
  const v = raw.trim();
  if (!/^-?\d+$/.test(v)) return fail(`must be an integer, got "${raw}"`);
  const n = Number(v);
  if (n < min || n > max) return fail(`must be between ${min} and ${max}, got ${n}`);
  return ok(n);
}

/** A positive decimal kept as a string so thresholds stay exact. */
export function parsePositiveDecimal(raw: string, max?: string): Parsed<string> {
  const v = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(v)) return fail(`must be a positive decimal number, got "${raw}"`);
  const d = new Decimal(v);
  if (d.lte(0)) return fail(`must be greater than 0, got ${v}`);
  if (max !== undefined && d.gt(max)) return fail(`must be at most ${max}, got ${v}`);
  return ok(d.toFixed());
}

/** A decimal ≥ 0 (kept as a string), at most `max`. */
export function parseNonNegativeDecimal(raw: string, max: string): Parsed<string> {
  const v = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(v)) return fail(`must be a decimal number ≥ 0, got "${raw}"`);
  const d = new Decimal(v);
  if (d.gt(max)) return fail(`must be at most ${max}, got ${v}`);
  return ok(d.toFixed());
}

/**
 * `SYMBOL=price` pairs, comma-separated (`AAPL=190.5,MSFT=410`): symbols
 * upper-cased, prices positive decimals kept exact. An empty list is allowed.
 */
export function parsePriceList(raw: string): Parsed<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)) {
    const m = /^([A-Za-z0-9](?:[A-Za-z0-9]|[./](?=[A-Za-z0-9])){0,9})\s*=\s*(\d+(?:\.\d+)?)$/.exec(item);
    if (!m || new Decimal(m[2]!).lte(0)) return fail(`must be SYMBOL=price pairs, comma-separated (bad: ${item})`);
    out[m[1]!.toUpperCase()] = new Decimal(m[2]!).toFixed();
  }
  return ok(out);
}

export function parseEnum<T extends string>(raw: string, allowed: readonly T[]): Parsed<T> {
  const v = raw.trim().toLowerCase() as T;
  return allowed.includes(v) ? ok(v) : fail(`must be one of ${allowed.join(', ')}, got "${raw}"`);
}

export function parseUrl(raw: string, protocols: readonly string[]): Parsed<string> {
  try {
    const u = new URL(raw.trim());
    if (!protocols.includes(u.protocol)) {
      return fail(`must be a ${protocols.map((p) => p.replace(':', '')).join('/')} URL`);
    }
    return ok(raw.trim().replace(/\/+$/, ''));
  } catch {
    return fail('must be a valid URL');
  }
}

export function parseIdentifier(raw: string): Parsed<string> {
  const v = raw.trim();
  return /^[A-Za-z0-9_.:-]{1,64}$/.test(v) ? ok(v) : fail('must be 1-64 characters of letters, digits, _ . : -');
}

/**
 * A comma list of IP addresses and CIDR ranges (`10.0.0.0/8, ::1`), each kept
 * as written (trimmed). An empty list is allowed.
 */
export function parseAddressList(raw: string): Parsed<string[]> {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const bad = items.filter((item) => {
    const [address, prefix, ...rest] = item.split('/');
    const family = isIP(address);
    if (!family || rest.length) return true;
    if (prefix === undefined) return false;
    if (!/^\d{1,3}$/.test(prefix)) return true;
    return Number(prefix) > (family === 4 ? 32 : 128);
  });
  if (bad.length) return fail(`must be IP addresses or CIDR ranges, comma-separated (bad: ${bad.join(', ')})`);
  return ok(items);
}
