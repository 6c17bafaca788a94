import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { EventSink, EventStreamSession, SessionEndReason } from './event-stream.session';
import { OrderEventFilter, OrderEventMessage } from './order-event';

class FakeSink implements EventSink {
  opened = false;
  ended = false;
  chunks: string[] = [];
  bufferedBytes = 0;
  open() {
    this.opened = true;
  }
  write(chunk: string) {
    if (!this.opened) throw new Error('write before open');
    this.chunks.push(chunk);
  }
  end() {
    this.ended = true;
  }
  get ids(): number[] {
    return this.chunks.filter((c) => c.startsWith('id: ')).map((c) => Number(/^id: (\d+)/.exec(c)![1]));
  }
}

const limits = { heartbeatIntervalMs: 15_000, maxBufferedBytes: 1_000, clientRetryMs: 2_000 };

function event(id: number, over: Partial<OrderEventMessage> = {}): OrderEventMessage {
  return {
    id,
    type: 'order.status',
    client_order_id: `o${id}`,
    strategy_id: 'alpha',
    symbol: 'AAPL',
    status: 'new',
    data: {},
    created_at: '2026-01-02T15:00:00.000Z',
    ...over,
  };
}

function session(filter: OrderEventFilter = {}, afterId?: number) {
  const sink = new FakeSink();
  const scheduler = new ManualScheduler();
  const s = new EventStreamSession(sink, filter, limits, afterId, scheduler);
  const ends: SessionEndReason[] = [];
  s.onEnd((r) => ends.push(r));
  return { sink, s, ends, scheduler };
}

describe('EventStreamSession', () => {
  it('opens with retry advice, sends the replay, then live events', () => {
    const { sink, s } = session();
    s.start([event(1), event(2)], false);
    expect(sink.opened).toBe(true);
    expect(sink.chunks[0]).toBe('retry: 2000\n\n');
    s.offer(event(3));
    expect(sink.ids).toEqual([1, 2, 3]);
    s.end('client_closed');
  });

  it('holds live events while the replay is read and sends them after it, without repeating replayed ones', () => {
    const { sink, s } = session({}, 0);
    s.offer(event(2));
    s.offer(event(5));
    expect(sink.opened).toBe(false);
    s.start([event(1), event(2), event(3)], false);
    // 2 was both replayed and published live while the replay was read.
    expect(sink.ids).toEqual([1, 2, 3, 5]);
    // The replayed 3 published later is not sent again either.
    s.offer(event(3));
    s.offer(event(6));
    expect(sink.ids).toEqual([1, 2, 3, 5, 6]);
    s.end('client_closed');
  });

  it('does not send live events at or below the id the client resumed from', () => {
    const { sink, s } = session({}, 10);
    s.start([], false);
    s.offer(event(9));
    s.offer(event(10));
    s.offer(event(11));
    expect(sink.ids).toEqual([11]);
    s.end('client_closed');
  });

  it('applies the filter to live events', () => {
    const { sink, s } = session({ strategyScope: ['alpha'], symbol: 'AAPL' });
    s.start([], false);
    s.offer(event(1, { strategy_id: 'beta' }));
    s.offer(event(2, { symbol: 'MSFT' }));
    s.offer(event(3));
    expect(sink.ids).toEqual([3]);
    s.end('client_closed');
  });

  it('a truncated replay ends the stream after it, so the client resumes from its last id', () => {
    const { sink, s, ends } = session({}, 0);
    s.offer(event(99));
    s.start([event(1), event(2)], true);
    expect(sink.ids).toEqual([1, 2]);
    expect(sink.ended).toBe(true);
    expect(ends).toEqual(['replay_truncated']);
  });

  it('sends a heartbeat comment at the interval until it ends', async () => {
    const { sink, s, scheduler } = session();
    const heartbeats = () => sink.chunks.filter((c) => c === ': heartbeat\n\n').length;
    s.start([], false);
    await scheduler.advance(14_999);
    expect(heartbeats()).toBe(0);
    await scheduler.advance(1);
    expect(heartbeats()).toBe(1);
    await scheduler.advance(15_000);
    expect(heartbeats()).toBe(2);
    s.end('client_closed');
    expect(scheduler.pending()).toEqual([]);
    await scheduler.advance(60_000);
    expect(heartbeats()).toBe(2);
  });

  it('drops a client whose socket stopped taking data', () => {
    const { sink, s, ends } = session();
    s.start([], false);
    sink.bufferedBytes = 5_000;
    s.offer(event(1));
    expect(sink.ended).toBe(true);
    expect(ends).toEqual(['slow_consumer']);
    s.offer(event(2));
    expect(sink.ids).toEqual([1]);
  });

  it('ends once, and before start leaves the response untouched for an error answer', () => {
    const { sink, s, ends } = session();
    s.end('shutdown');
    s.end('client_closed');
    expect(sink.opened).toBe(false);
    expect(sink.ended).toBe(false);
    expect(ends).toEqual(['shutdown']);
    s.start([event(1)], false);
    expect(sink.opened).toBe(false);
  });
});
