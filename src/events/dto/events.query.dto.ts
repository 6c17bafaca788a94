import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, ValidateBy } from 'class-validator';
import { Identifier, TickerSymbol } from '../../common/validators';

/** Event ids are outbox row ids: whole numbers, well inside the exact range of a JSON number. */
export const EVENT_ID_PATTERN = /^\d{1,15}$/;

/** An event id as a client sends it (query or Last-Event-ID), or undefined when it is not one. */
export function parseEventId(raw: unknown): number | undefined {
  return typeof raw === 'string' && EVENT_ID_PATTERN.test(raw) ? Number(raw) : undefined;
}

export const EVENT_ID_PROBLEM = 'must be an event id: a whole number from 0 to 999999999999999';

export class EventsQueryDto {
  @ApiPropertyOptional({
    description: 'Only the events of this strategy (within the key’s scope).',
    example: 'alpha_baseline',
  })
  @IsOptional()
  @Identifier(64)
  strategy_id?: string;

  @ApiPropertyOptional({ description: 'Only the events of this symbol.', example: 'AAPL' })
  @IsOptional()
  @TickerSymbol()
  symbol?: string;

  @ApiPropertyOptional({
    description:
      'Replay the events after this id before streaming live ones (0: from the start). The Last-Event-ID header, which EventSource sends when it reconnects, takes precedence.',
    example: '0',
  })
  @IsOptional()
  @ValidateBy({
    name: 'eventId',
    validator: { validate: (v: unknown) => parseEventId(v) !== undefined, defaultMessage: () => EVENT_ID_PROBLEM },
  })
  since_id?: string;
}
