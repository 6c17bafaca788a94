/**
 * Domain errors carry a stable `code` and a `kind`; one exception filter maps
 * the kind to an HTTP status. Services throw these (never HttpException),
 * because jobs and stream consumers call the same services.
 */
export type ErrorKind =
  | 'invalid' // 422
  | 'malformed' // 400
  | 'unauthenticated' // 401
  | 'forbidden' // 403
  | 'not_found' // 404
  | 'conflict' // 409
  | 'rejected' // 422: a rule said no (fat-finger, limits)
  | 'rate_limited' // 429
  | 'unavailable'; // 503: safety gate, broker or store unavailable

export interface FieldProblem {
  field: string;
  problems: string[];
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Invalid input: every bad field is named. */
export class InputValidationError extends DomainError {
  constructor(readonly fields: FieldProblem[]) {
    super(
      'invalid',
      'VALIDATION_FAILED',
      `Invalid request: ${fields.map((f) => `${f.field} ${f.problems.join('; ')}`).join('. ')}`,
      { fields },
    );
  }

  static field(field: string, problem: string): InputValidationError {
    return new InputValidationError([{ field, problems: [problem] }]);
  }
}

export class NotFoundError extends DomainError {
  constructor(code: string, message: string) {
    super('not_found', code, message);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('conflict', code, message, details);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(code: string, message: string) {
    super('unauthenticated', code, message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('forbidden', code, message, details);
  }
}
