/**
 * Field decorators for the API's numbers and identifiers. A transform first
 * normalizes what it can (`"10"` → `"10"`, `150.50` → `"150.5"`, ` aapl ` →
 * `"AAPL"`), then a validator names the field when the value is still wrong.
 */
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy, ValidationOptions } from 'class-validator';
import { Decimal, decimalPlaces, normalizeDecimal, normalizeWholeQuantity } from './decimal';
import { isSymbol, parseSymbol, SYMBOL_PROBLEM } from './symbol';

export const MAX_ORDER_QTY = 1_000_000_000;
export const MAX_PRICE = '1000000000';
export const MAX_PRICE_DECIMALS = 8;
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9_.:-]+$/;

/**
 * One field's rule: how a raw value is normalized, whether the result is
 * valid, and what to say when it is not. The decorators below (the HTTP
 * pipe) and the self-validating commands (`create(raw)`, for jobs and the
 * command line as much as for HTTP) apply the same rules.
 */
export interface FieldRule<T> {
  normalize(value: unknown): unknown;
  isValid(value: unknown): value is T;
  message: string;
}

const same = (v: unknown): unknown => v;

export const WHOLE_QUANTITY_RULE: FieldRule<string> = {
  normalize: (v) => normalizeWholeQuantity(v) ?? v,
  isValid: (v): v is string =>
    typeof v === 'string' && /^[1-9]\d*$/.test(v) && v.length <= 10 && Number(v) <= MAX_ORDER_QTY,
  message: `must be a whole number of shares from 1 to ${MAX_ORDER_QTY} (a JSON number or a string such as "10")`,
};

export const PRICE_RULE: FieldRule<string> = {
  normalize: (v) => (v === null || v === undefined ? v : (normalizeDecimal(v) ?? v)),
  isValid: (v): v is string =>
    typeof v === 'string' &&
    /^\d+(\.\d+)?$/.test(v) &&
    new Decimal(v).gt(0) &&
    new Decimal(v).lt(MAX_PRICE) &&
    decimalPlaces(v) <= MAX_PRICE_DECIMALS,
  message: `must be a positive decimal below ${MAX_PRICE} with at most ${MAX_PRICE_DECIMALS} decimal places (a JSON number or a string such as "150.25")`,
};

/**
 * Checked on the raw ASCII form before upper-casing (./symbol.ts): a raw
 * value that is not a symbol is left as it is, and fails `isValid`.
 */
export const SYMBOL_RULE: FieldRule<string> = {
  normalize: (v) => parseSymbol(v) ?? v,
  isValid: isSymbol,
  message: SYMBOL_PROBLEM,
};

export function identifierRule(max: number): FieldRule<string> {
  return {
    normalize: same,
    isValid: (v): v is string =>
      typeof v === 'string' && v.length >= 1 && v.length <= max && IDENTIFIER_PATTERN.test(v),
    message: `must be 1-${max} characters of letters, digits, "_", ".", ":" or "-"`,
  };
}

export function oneOfRule<T extends string>(values: readonly T[]): FieldRule<T> {
  return {
    normalize: same,
    isValid: (v): v is T => typeof v === 'string' && (values as readonly string[]).includes(v),
    message: `must be one of: ${values.join(', ')}`,
  };
}

/** A property decorator applying `rule` (with its normalization) under the validator name `name`. */
function ruleDecorator(name: string, rule: FieldRule<unknown>, options?: ValidationOptions): PropertyDecorator {
  const validate = ValidateBy(
    { name, validator: { validate: (v: unknown) => rule.isValid(v), defaultMessage: () => rule.message } },
    options,
  );
  return rule.normalize === same
    ? validate
    : applyDecorators(
        Transform(({ value }) => rule.normalize(value)),
        validate,
      );
}

/** Whole shares, JSON number or string; becomes an integer string. */
export function WholeQuantity(options?: ValidationOptions): PropertyDecorator {
  return ruleDecorator('wholeQuantity', WHOLE_QUANTITY_RULE, options);
}

/** A positive price, JSON number or decimal string; becomes a normalized decimal string. */
export function Price(options?: ValidationOptions): PropertyDecorator {
  return ruleDecorator('price', PRICE_RULE, options);
}

/** Trimmed, checked as ASCII, then upper-cased; 1-10 characters of A-Z, digits, `.` or `/` (./symbol.ts). */
export function TickerSymbol(options?: ValidationOptions): PropertyDecorator {
  return ruleDecorator('symbol', SYMBOL_RULE, options);
}

/** An identifier of letters, digits, `_ . : -` up to `max` characters. */
export function Identifier(max: number, options?: ValidationOptions): PropertyDecorator {
  return ruleDecorator('identifier', identifierRule(max), options);
}

/** One of a fixed list of strings. */
export function OneOf(values: readonly string[], options?: ValidationOptions): PropertyDecorator {
  return ruleDecorator('oneOf', oneOfRule(values), options);
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An RFC 3339 timestamp (or a plain date) that JavaScript reads as a real instant. */
export function Timestamp(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'timestamp',
      validator: {
        validate: (v: unknown) => typeof v === 'string' && RFC3339.test(v) && !Number.isNaN(Date.parse(v)),
        defaultMessage: () => 'must be an ISO 8601 timestamp such as 2026-01-02T15:04:05Z',
      },
    },
    options,
  );
}

/**
 * A query-string count such as `limit`: digits are read as a number, which
 * must be a whole number from `min` to `max`.
 */
export function IntegerParam(min: number, max: number): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value)),
    ValidateBy({
      name: 'integerParam',
      validator: {
        validate: (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max,
        defaultMessage: () => `must be an integer from ${min} to ${max}`,
      },
    }),
  );
}
