/**
 * The fields every operator action carries (`operator`, `reason`, `notes`):
 * one place for their validators and their Swagger text, so the kill switch,
 * the circuit breaker, fat-finger and reconciliation ask for them alike.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, ValidateBy } from 'class-validator';
import { decoratorStack as stack } from './decorator-stack';
import { isReservedActorName, RESERVED_ACTOR_NAMES } from './system-actors';

const NOT_BLANK = /\S/;

/** `operator`: 1-200 characters, not blank; the actor of the audit row. `who` starts the description. */
export function OperatorField(who: string): PropertyDecorator {
  return stack(
    ApiProperty({ description: `${who} (1-200 characters); the actor of the audit row.`, example: 'jane.doe' }),
    operatorRules(),
  );
}

/**
 * `operator` where it may be left out (every control action but the kill
 * switch's): when absent, the calling key's name is recorded (`operatorOf`).
 */
export function OptionalOperatorField(who: string): PropertyDecorator {
  return stack(
    ApiPropertyOptional({
      description: `${who} (1-200 characters); the actor of the audit row. Default: the calling API key's name.`,
      example: 'jane.doe',
    }),
    IsOptional(),
    operatorRules(),
  );
}

/** The operator of an action: the body's when given, else the calling key's name. */
export function operatorOf(given: string | undefined | null, ctx: { actor: string }): string {
  return given ?? ctx.actor;
}

function operatorRules(): PropertyDecorator {
  return stack(
    IsString(),
    MaxLength(200),
    Matches(NOT_BLANK, { message: 'operator must not be blank' }),
    ValidateBy({
      name: 'notReservedActor',
      validator: {
        validate: (v: unknown) => typeof v !== 'string' || !isReservedActorName(v),
        defaultMessage: () =>
          `is reserved: ${RESERVED_ACTOR_NAMES.join(', ')} and any of them followed by ":" name the gateway's own actors`,
      },
    }),
  );
}

/** `reason`: 1-500 characters, not blank. */
export function ReasonField(doc: { description: string; example: string; maxLength?: 500 }): PropertyDecorator {
  return stack(
    ApiProperty(doc),
    IsString(),
    MaxLength(500),
    Matches(NOT_BLANK, { message: 'reason must not be blank' }),
  );
}

/** `notes`: optional free text, up to 1000 characters. */
export function NotesField(): PropertyDecorator {
  return stack(
    ApiPropertyOptional({ description: 'Free text (up to 1000 characters).', maxLength: 1000 }),
    IsOptional(),
    IsString(),
    MaxLength(1000),
  );
}
