import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldProblem, InputValidationError } from './domain-error';

/**
 * Validates and normalizes bodies, queries and params against their DTO
 * classes. Unknown fields are refused by name; every bad field is reported in
 * one 422.
 */
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      validationError: { target: false, value: false },
      exceptionFactory: (errors) => new InputValidationError(flattenErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && metadata.metatype !== Object) {
      if (value === undefined) value = {};
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw InputValidationError.field('body', 'must be a JSON object');
      }
    }
    return super.transform(value, metadata);
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
