/**
 * Field decorators for the API's numbers and identifiers. A transform first
 * normalizes what it can (`"10"` → `"10"`, `150.50` → `"150.5"`, ` aapl ` →
 * `"AAPL"`), then a validator names the field when the value is still wrong.
 */
import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy, ValidationOptions } from 'class-validator';
import { Decimal, decimalPlaces, normalizeDecimal, normalizeWholeQuantity } from './decimal';
import { SYMBOL_PATTERN } from './symbol';

export const MAX_ORDER_QTY = 1_000_000_000;
export const MAX_PRICE = '1000000000';
export const MAX_PRICE_DECIMALS = 8;
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9_.:-]+$/;

/** Whole shares, JSON number or string; becomes an integer string. */
export function WholeQuantity(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => normalizeWholeQuantity(value) ?? value),
    ValidateBy(
      {
        name: 'wholeQuantity',
        validator: {
          validate: (v: unknown) =>
            typeof v === 'string' && /^[1-9]\d*$/.test(v) && v.length <= 10 && Number(v) <= MAX_ORDER_QTY,
          defaultMessage: () =>
            `must be a whole number of shares from 1 to ${MAX_ORDER_QTY} (a JSON number or a string such as "10")`,
        },
      },
      options,
    ),
  );
}

/** A positive price, JSON number or decimal string; becomes a normalized decimal string. */
export function Price(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => (value === null || value === undefined ? value : (normalizeDecimal(value) ?? value))),
    ValidateBy(
      {
        name: 'price',
        validator: {
          validate: (v: unknown) =>
            typeof v === 'string' &&
            /^\d+(\.\d+)?$/.test(v) &&
            new Decimal(v).gt(0) &&
            new Decimal(v).lt(MAX_PRICE) &&
            decimalPlaces(v) <= MAX_PRICE_DECIMALS,
          defaultMessage: () =>
            `must be a positive decimal below ${MAX_PRICE} with at most ${MAX_PRICE_DECIMALS} decimal places (a JSON number or a string such as "150.25")`,
        },
      },
      options,
    ),
  );
}

/** Trimmed and upper-cased; 1-10 characters of A-Z, digits, `.` or `/`. */
export function TickerSymbol(options?: ValidationOptions): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }) => (typeof value === 'string' ? value.trim().toUpperCase() : value)),
    ValidateBy(
      {
        name: 'symbol',
        validator: {
          validate: (v: unknown) => typeof v === 'string' && SYMBOL_PATTERN.test(v),
          defaultMessage: () => 'must be a string of 1-10 characters of A-Z, 0-9, "." or "/"',
        },
      },
      options,
    ),
  );
}

/** An identifier of letters, digits, `_ . : -` up to `max` characters. */
export function Identifier(max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'identifier',
      validator: {
        validate: (v: unknown) =>
          typeof v === 'string' && v.length >= 1 && v.length <= max && IDENTIFIER_PATTERN.test(v),
        defaultMessage: () => `must be 1-${max} characters of letters, digits, "_", ".", ":" or "-"`,
      },
    },
    options,
  );
}

/** One of a fixed list of strings. */
export function OneOf(values: readonly string[], options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'oneOf',
      validator: {
        validate: (v: unknown) => typeof v === 'string' && values.includes(v),
        defaultMessage: () => `must be one of: ${values.join(', ')}`,
      },
    },
    options,
  );
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
