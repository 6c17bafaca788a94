import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldProblem, InputValidationError } from './domain-error';

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
 * cross-field alike, is reported in one 422.
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
    const result: unknown = await super.transform(value, metadata);
    if (hasCrossFieldRules(result)) {
      const problems = result.crossFieldProblems();
      if (problems.length) throw new InputValidationError(problems);
    }
    return result;
  }
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
