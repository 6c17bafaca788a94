import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldProblem, InputValidationError } from './domain-error';
import { textProblems } from './text';

/** A DTO with rules that span fields (checked with the per-field rules, reported together). */
export interface CrossFieldRules {
  crossFieldProblems(): FieldProblem[];
}

function hasCrossFieldRules(o: unknown): o is CrossFieldRules {
  return typeof (o as Partial<CrossFieldRules> | null)?.crossFieldProblems === 'function';
}

/**
 * Validates and normalizes bodies, queries and params against their DTO
 * classes. Unknown fields are refused by name; every bad field, per-field and
 * cross-field alike, is reported in one 422. Before any DTO, the raw input is
 * checked structurally: no prototype keys, bounded depth, and no string (at
 * any depth, keys included) that PostgreSQL would refuse — also for handlers
 * that take the raw body (`@Body() body: unknown`).
 */
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      validationError: { target: true, value: false },
      exceptionFactory: (errors) => {
        const fields = flattenErrors(errors);
        const target = errors[0]?.target;
        if (hasCrossFieldRules(target)) {
          const named = new Set(fields.map((f) => f.field));
          fields.push(...target.crossFieldProblems().filter((p) => !named.has(p.field)));
        }
        return new InputValidationError(fields);
      },
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object) {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw InputValidationError.field('body', 'must be a JSON object');
      }
    }
    if (typeof value === 'object' && value !== null) {
      const problems = structuralProblems(value as Record<string, unknown>);
      if (problems.length) throw new InputValidationError(problems);
    }
    if (TEXT_CHECKED.has(metadata.type)) {
      // A single query or path parameter is named by its name; a whole body or query by each field's path.
      const problems = textProblems(value, typeof value === 'object' ? '' : (metadata.data ?? metadata.type));
      if (problems.length) throw new InputValidationError(problems);
    }
    const result: unknown = await super.transform(value, metadata);
    if (hasCrossFieldRules(result)) {
      const problems = result.crossFieldProblems();
      if (problems.length) throw new InputValidationError(problems);
    }
    return result;
  }
}

/** Inputs that may carry text to PostgreSQL: every string in them is checked, keys included (./text.ts). */
const TEXT_CHECKED = new Set<ArgumentMetadata['type']>(['body', 'query', 'param']);

/** Deeper than any DTO goes; far shallower than what would exhaust the stack while converting. */
const MAX_DEPTH = 32;
/** Keys the object conversion would silently drop instead of reporting as unknown. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Checks done on the raw input before it is converted: forbidden keys and nesting depth. */
function structuralProblems(input: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const key of Object.keys(input)) {
    if (FORBIDDEN_KEYS.has(key)) problems.push({ field: key, problems: ['is not a known field'] });
    else if (depthExceeds(input[key], MAX_DEPTH)) {
      problems.push({ field: key, problems: [`is nested more than ${MAX_DEPTH} levels deep`] });
    }
  }
  return problems;
}

/** Iterative, so a hostile body cannot overflow the stack here either. */
function depthExceeds(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

function flattenErrors(errors: ValidationError[], prefix = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const e of errors) {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) {
      const problems = Object.entries(e.constraints).map(([name, msg]) =>
        // class-validator words the unknown-field error as a sentence about the property.
        name === 'whitelistValidation'
          ? 'is not a known field'
          : msg.replace(new RegExp(`^${escape(e.property)} `), ''),
      );
      out.push({ field, problems });
    }
    if (e.children?.length) out.push(...flattenErrors(e.children, field));
  }
  return out;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
