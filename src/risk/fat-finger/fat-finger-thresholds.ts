/**
 * Fat-finger thresholds (docs/risk-and-safety.md#fat-finger): global
 * defaults plus per-symbol overrides, and the pure rules for reading,
 * validating, changing and merging them.
 *
 * Invariants:
 * - every threshold in force is positive; `max_adv_pct` is a fraction in
 *   (0, 1]; `max_price_age_seconds` an integer in 1..86400;
 * - a default the operator never set is the configured one (FAT_FINGER_*), so
 *   the environment decides until an operator decides otherwise;
 * - an override replaces only the fields it names; an override naming no
 *   field does not exist;
 * - symbols are normalized as orders' are (trimmed, upper-cased).
 */
import { FieldProblem } from '../../common/domain-error';
import { Decimal, decimalPlaces, normalizeDecimal } from '../../common/decimal';
import { parseSymbol, SYMBOL_PROBLEM } from '../../common/symbol';

/** How old the in-memory thresholds may be before the order path must not trust them. */
export const FAT_FINGER_MAX_AGE_MS = 1_000;
/** How often each replica re-reads them, besides the instant change notifications. */
export const FAT_FINGER_REFRESH_MS = 250;
/** Bounds of accepted values (beyond them a value is a typo, not a limit). */
export const MAX_THRESHOLD = '1000000000000000000';
export const MAX_THRESHOLD_DECIMALS = 8;
export const MAX_PRICE_AGE_SECONDS = 86_400;

export interface FatFingerLimits {
  /** Decimal strings. */
  maxNotional: string;
  maxQty: string;
  /** Fraction of ADV, in (0, 1]. */
  maxAdvPct: string;
  maxPriceAgeSeconds: number;
}

export type OverridableField = 'maxNotional' | 'maxQty' | 'maxAdvPct';
export const OVERRIDABLE_FIELDS: readonly OverridableField[] = ['maxNotional', 'maxQty', 'maxAdvPct'];
export type SymbolOverride = Partial<Pick<FatFingerLimits, OverridableField>>;

/** The thresholds in force. */
export interface FatFingerThresholds {
  defaults: FatFingerLimits;
  /** By normalized symbol; each names at least one field. */
  symbolOverrides: Record<string, SymbolOverride>;
  updatedAt: Date | null;
  updatedBy: string | null;
  /** One more per change (0 = never changed by an operator). */
  version: number;
}

/** What is stored: a default left null is the configured one. */
export interface StoredThresholds {
  defaults: { [K in keyof FatFingerLimits]: FatFingerLimits[K] | null };
  symbolOverrides: Record<string, SymbolOverride>;
  updatedAt: Date | null;
  updatedBy: string | null;
  version: number;
}

/** The limits that apply to one symbol. */
export type EffectiveThresholds = FatFingerLimits;

/** An operator's change: fields to set; an override set to null (or a field of it) is removed. */
export interface ThresholdsUpdate {
  defaults: Partial<FatFingerLimits>;
  symbolOverrides: Record<string, { [K in OverridableField]?: string | null } | null>;
}

export function resolveThresholds(stored: StoredThresholds, configured: FatFingerLimits): FatFingerThresholds {
  const d = stored.defaults;
  return {
    defaults: {
      maxNotional: d.maxNotional ?? configured.maxNotional,
      maxQty: d.maxQty ?? configured.maxQty,
      maxAdvPct: d.maxAdvPct ?? configured.maxAdvPct,
      maxPriceAgeSeconds: d.maxPriceAgeSeconds ?? configured.maxPriceAgeSeconds,
    },
    symbolOverrides: stored.symbolOverrides,
    updatedAt: stored.updatedAt,
    updatedBy: stored.updatedBy,
    version: stored.version,
  };
}

export function normalizeSymbol(symbol: string): string {
  return symbol.trim().toUpperCase();
}

/** Overrides merged over defaults for `symbol`. */
export function effectiveThresholds(thresholds: FatFingerThresholds, symbol: string): EffectiveThresholds {
  const o = thresholds.symbolOverrides[normalizeSymbol(symbol)] ?? {};
  return {
    maxNotional: o.maxNotional ?? thresholds.defaults.maxNotional,
    maxQty: o.maxQty ?? thresholds.defaults.maxQty,
    maxAdvPct: o.maxAdvPct ?? thresholds.defaults.maxAdvPct,
    maxPriceAgeSeconds: thresholds.defaults.maxPriceAgeSeconds,
  };
}

/** The stored state after `update` (the version and who/when are the repository's). */
export function applyUpdate(stored: StoredThresholds, update: ThresholdsUpdate): StoredThresholds {
  const symbolOverrides = { ...stored.symbolOverrides };
  for (const [symbol, change] of Object.entries(update.symbolOverrides)) {
    if (change === null) {
      delete symbolOverrides[symbol];
      continue;
    }
    const merged: SymbolOverride = { ...symbolOverrides[symbol] };
    for (const field of OVERRIDABLE_FIELDS) {
      const v = change[field];
      if (v === null) delete merged[field];
      else if (v !== undefined) merged[field] = v;
    }
    if (Object.keys(merged).length) symbolOverrides[symbol] = merged;
    else delete symbolOverrides[symbol];
  }
  return { ...stored, defaults: { ...stored.defaults, ...update.defaults }, symbolOverrides };
}

// --- the API body (snake_case, decimals as strings) ---

export interface LimitsBody {
  max_notional: string;
  max_qty: string;
  max_adv_pct: string;
  max_price_age_seconds: number;
}
export type OverrideBody = Partial<Pick<LimitsBody, 'max_notional' | 'max_qty' | 'max_adv_pct'>>;
export interface ThresholdsBody {
  defaults: LimitsBody;
  symbol_overrides: Record<string, OverrideBody>;
  updated_at: string | null;
  updated_by: string | null;
}

const API_NAME: Record<keyof FatFingerLimits, keyof LimitsBody> = {
  maxNotional: 'max_notional',
  maxQty: 'max_qty',
  maxAdvPct: 'max_adv_pct',
  maxPriceAgeSeconds: 'max_price_age_seconds',
};

function overrideToBody(o: SymbolOverride): OverrideBody {
  const out: OverrideBody = {};
  for (const field of OVERRIDABLE_FIELDS) {
    const v = o[field];
    if (v !== undefined) out[API_NAME[field] as keyof OverrideBody] = v;
  }
  return out;
}

export function toThresholdsBody(t: FatFingerThresholds): ThresholdsBody {
  const symbols = Object.keys(t.symbolOverrides).sort();
  return {
    defaults: {
      max_notional: t.defaults.maxNotional,
      max_qty: t.defaults.maxQty,
      max_adv_pct: t.defaults.maxAdvPct,
      max_price_age_seconds: t.defaults.maxPriceAgeSeconds,
    },
    symbol_overrides: Object.fromEntries(symbols.map((s) => [s, overrideToBody(t.symbolOverrides[s])])),
    updated_at: t.updatedAt?.toISOString() ?? null,
    updated_by: t.updatedBy,
  };
}

// --- validation of a change ---

const DECIMAL_RULE = `must be a positive decimal below ${MAX_THRESHOLD} with at most ${MAX_THRESHOLD_DECIMALS} decimal places (a JSON number or a string such as "100000")`;
const FRACTION_RULE = `must be a fraction greater than 0 and at most 1, with at most ${MAX_THRESHOLD_DECIMALS} decimal places (0.05 = 5 %)`;
const AGE_RULE = `must be a whole number of seconds from 1 to ${MAX_PRICE_AGE_SECONDS}`;

/** A positive decimal within bounds, normalized; undefined when not. */
export function parsePositiveDecimal(
  v: unknown,
  max: string = MAX_THRESHOLD,
  inclusiveMax = false,
): string | undefined {
  if (typeof v === 'string' && v.trim() === '') return undefined;
  const n = normalizeDecimal(v);
  if (n === undefined || decimalPlaces(n) > MAX_THRESHOLD_DECIMALS) return undefined;
  const d = new Decimal(n);
  if (!d.gt(0)) return undefined;
  if (inclusiveMax ? d.gt(max) : d.gte(max)) return undefined;
  return n;
}

function parseAge(v: unknown): number | undefined {
  const n = normalizeDecimal(v);
  if (n === undefined || !/^\d+$/.test(n)) return undefined;
  const i = Number(n);
  return i >= 1 && i <= MAX_PRICE_AGE_SECONDS ? i : undefined;
}

function parseField(field: keyof FatFingerLimits, v: unknown): { value?: string | number; problem?: string } {
  switch (field) {
    case 'maxAdvPct': {
      const value = parsePositiveDecimal(v, '1', true);
      return value === undefined ? { problem: FRACTION_RULE } : { value };
    }
    case 'maxPriceAgeSeconds': {
      const value = parseAge(v);
      return value === undefined ? { problem: AGE_RULE } : { value };
    }
    default: {
      const value = parsePositiveDecimal(v);
      return value === undefined ? { problem: DECIMAL_RULE } : { value };
    }
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const FIELD_BY_API_NAME = new Map(Object.entries(API_NAME).map(([k, v]) => [v, k as keyof FatFingerLimits]));

/**
 * Validates a change given as the API's `defaults` and `symbol_overrides`
 * (either may be absent, not both): every bad field is named with its path
 * (`defaults.max_qty`, `symbol_overrides.AAPL.max_notional`).
 */
export function parseThresholdsUpdate(body: {
  defaults?: unknown;
  symbol_overrides?: unknown;
}): { update: ThresholdsUpdate; problems: [] } | { update: null; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const add = (field: string, problem: string) => problems.push({ field, problems: [problem] });
  const update: ThresholdsUpdate = { defaults: {}, symbolOverrides: {} };

  if (body.defaults !== undefined) {
    if (!isPlainObject(body.defaults)) {
      add('defaults', 'must be an object of max_notional, max_qty, max_adv_pct and max_price_age_seconds');
    } else {
      for (const [key, raw] of Object.entries(body.defaults)) {
        const path = `defaults.${key}`;
        const field = FIELD_BY_API_NAME.get(key as keyof LimitsBody);
        if (!field) {
          add(path, 'is not a known field');
          continue;
        }
        const { value, problem } = parseField(field, raw);
        if (problem) add(path, raw === null ? `${problem}; a default cannot be removed` : problem);
        else (update.defaults as Record<string, unknown>)[field] = value;
      }
    }
  }

  if (body.symbol_overrides !== undefined) {
    if (!isPlainObject(body.symbol_overrides)) {
      add('symbol_overrides', 'must be an object keyed by symbol');
    } else {
      for (const [rawSymbol, raw] of Object.entries(body.symbol_overrides)) {
        // Checked raw, before upper-casing (common/symbol.ts).
        const symbol = parseSymbol(rawSymbol);
        const path = `symbol_overrides.${rawSymbol}`;
        if (symbol === null) {
          add(path, `is not a symbol: ${SYMBOL_PROBLEM}`);
          continue;
        }
        if (symbol in update.symbolOverrides) {
          add(path, `names the same symbol as another key (${symbol})`);
          continue;
        }
        if (raw === null) {
          update.symbolOverrides[symbol] = null;
          continue;
        }
        if (!isPlainObject(raw)) {
          add(path, 'must be null (remove the override) or an object of max_notional, max_qty and max_adv_pct');
          continue;
        }
        const change: { [K in OverridableField]?: string | null } = {};
        for (const [key, v] of Object.entries(raw)) {
          const fieldPath = `${path}.${key}`;
          const field = FIELD_BY_API_NAME.get(key as keyof LimitsBody);
          if (!field || !(OVERRIDABLE_FIELDS as readonly string[]).includes(field)) {
            add(
              fieldPath,
              key === 'max_price_age_seconds' ? 'is global only (set it under defaults)' : 'is not a known field',
            );
            continue;
          }
          if (v === null) {
            change[field as OverridableField] = null;
            continue;
          }
          const { value, problem } = parseField(field, v);
          if (problem) add(fieldPath, problem);
          else change[field as OverridableField] = value as string;
        }
        update.symbolOverrides[symbol] = change;
      }
    }
  }

  if (!problems.length && !Object.keys(update.defaults).length && !Object.keys(update.symbolOverrides).length) {
    add('defaults', 'defaults or symbol_overrides must name at least one change');
  }
  return problems.length ? { update: null, problems } : { update, problems: [] };
}

// --- the copy cached in the shared store ---

export function serializeThresholds(t: FatFingerThresholds): string {
  return JSON.stringify(t);
}

export function parseThresholds(raw: string): FatFingerThresholds | null {
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (typeof v.version !== 'number' || !isPlainObject(v.defaults) || !isPlainObject(v.symbolOverrides)) return null;
    const d = v.defaults;
    const maxNotional = parsePositiveDecimal(d.maxNotional);
    const maxQty = parsePositiveDecimal(d.maxQty);
    const maxAdvPct = parsePositiveDecimal(d.maxAdvPct, '1', true);
    const maxPriceAgeSeconds = parseAge(d.maxPriceAgeSeconds);
    if (!maxNotional || !maxQty || !maxAdvPct || maxPriceAgeSeconds === undefined) return null;
    const symbolOverrides: Record<string, SymbolOverride> = {};
    for (const [symbol, o] of Object.entries(v.symbolOverrides)) {
      if (!isPlainObject(o)) return null;
      const clean: SymbolOverride = {};
      for (const field of OVERRIDABLE_FIELDS) {
        if (o[field] === undefined) continue;
        const value =
          field === 'maxAdvPct' ? parsePositiveDecimal(o[field], '1', true) : parsePositiveDecimal(o[field]);
        if (!value) return null;
        clean[field] = value;
      }
      symbolOverrides[symbol] = clean;
    }
    return {
      defaults: { maxNotional, maxQty, maxAdvPct, maxPriceAgeSeconds },
      symbolOverrides,
      updatedAt: typeof v.updatedAt === 'string' ? new Date(v.updatedAt) : null,
      updatedBy: typeof v.updatedBy === 'string' ? v.updatedBy : null,
      version: v.version,
    };
  } catch {
    return null;
  }
}
