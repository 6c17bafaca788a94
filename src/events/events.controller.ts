import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { presentedKey } from '../auth/request-authenticator';
import { CurrentPrincipal, RequirePermissions } from '../auth/auth.decorators';
import { Principal } from '../auth/permission';
import { InputValidationError } from '../common/domain-error';
import { ErrorResponseDto } from '../common/error-response.dto';
import { EVENT_ID_PROBLEM, EventsQueryDto, parseEventId } from './dto/events.query.dto';
import { EventSink } from './event-stream.session';
import { StreamOrderEventsUseCase } from './stream-order-events.use-case';

/**
 * A raw response rather than @Sse(): the replay must be read (and may fail
 * with a proper error body) before the head is sent, the head carries
 * anti-buffering headers, and each frame needs its own `id:`.
 */
@ApiTags('events')
@ApiBearerAuth()
@ApiSecurity('api-key')
@Controller('events')
export class EventsController {
  constructor(private readonly streams: StreamOrderEventsUseCase) {}

  @Get()
  @RequirePermissions('VIEW_ORDERS')
  @ApiOperation({
    summary: 'Order events as Server-Sent Events',
    description:
      'Streams `text/event-stream` frames `id: <event id>`, `event: <order.status|order.fill>`, `data: <JSON event>` for the ' +
      "key's strategies, with a comment line every 15 s. With Last-Event-ID (or since_id) the events after that id are " +
      'replayed first, up to 1000 per connection: when more are waiting the stream ends after the 1000th and the client ' +
      'resumes from there. Delivery is at least once: dedupe on the event id. A key holds at most SSE_MAX_STREAMS_PER_KEY ' +
      "(default 5) open streams across replicas; a revoked key's streams end within seconds.",
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume after this event id' })
  @ApiResponse({ status: 200, description: 'The event stream' })
  @ApiResponse({ status: 401, description: 'Missing or invalid API key', type: ErrorResponseDto })
  @ApiResponse({ status: 403, description: 'Key lacks VIEW_ORDERS or the strategy', type: ErrorResponseDto })
  @ApiResponse({ status: 422, description: 'Invalid filter or event id', type: ErrorResponseDto })
  @ApiResponse({
    status: 429,
    description: 'TOO_MANY_STREAMS: the key already holds SSE_MAX_STREAMS_PER_KEY open streams',
    type: ErrorResponseDto,
  })
  @ApiResponse({ status: 503, description: 'Events cannot be streamed right now', type: ErrorResponseDto })
  async stream(
    @Query() q: EventsQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    let afterId = q.since_id === undefined ? undefined : parseEventId(q.since_id);
    if (lastEventId !== undefined && lastEventId.trim() !== '') {
      afterId = parseEventId(lastEventId.trim());
      if (afterId === undefined) throw InputValidationError.field('Last-Event-ID', EVENT_ID_PROBLEM);
    }
    let clientGone = false;
    let onGone: () => void = () => {
      clientGone = true;
    };
    res.once('close', () => onGone());
    const stream = await this.streams.open(
      principal,
      // The guard admitted the request on this key, so it is there.
      { presentedKey: presentedKey(req) ?? '', strategyId: q.strategy_id, symbol: q.symbol, afterId },
      responseSink(res),
    );
    if (clientGone) stream.close();
    else onGone = stream.close;
  }
}

function responseSink(res: Response): EventSink {
  return {
    open() {
      res.status(200);
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
      res.setHeader('Cache-Control', 'no-cache, no-transform');
      res.setHeader('Connection', 'keep-alive');
      // nginx and friends would otherwise buffer the stream.
      res.setHeader('X-Accel-Buffering', 'no');
      res.socket?.setNoDelay(true);
      res.flushHeaders();
    },
    write(chunk) {
      if (!res.destroyed && !res.writableEnded) res.write(chunk);
    },
    get bufferedBytes() {
      return res.writableLength;
    },
    end() {
      if (!res.writableEnded) res.end();
    },
  };
}
