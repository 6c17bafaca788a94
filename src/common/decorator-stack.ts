import { applyDecorators } from '@nestjs/common';

/**
 * Combines `decorators` as TypeScript applies them when written in this order
 * on one target (bottom up), so metadata that keeps its order (validation
 * constraints and their messages, Swagger responses) stays as if written out.
 */
export function decoratorStack(
  ...decorators: Array<ClassDecorator | MethodDecorator | PropertyDecorator>
): ReturnType<typeof applyDecorators> {
  return applyDecorators(...decorators.reverse());
}
