import {
  matchesFilter,
  OrderEventMessage,
  parseAnnouncedEventId,
  sseFrame,
  StoredOrderEvent,
  toOrderEventMessage,
} from './order-event';

const stored: StoredOrderEvent = {
  id: 42,
  clientOrderId: 'abc123',
  strategyId: 'alpha_baseline',
  symbol: 'AAPL',
  eventType: 'order.status',
  status: 'filled',
  payload: { previous_status: 'new', filled_qty: '10' },
  createdAt: new Date('2026-01-02T15:04:05.123Z'),
};

const message: OrderEventMessage = {
  id: 42,
  type: 'order.status',
  client_order_id: 'abc123',
  strategy_id: 'alpha_baseline',
  symbol: 'AAPL',
  status: 'filled',
  data: { previous_status: 'new', filled_qty: '10' },
  created_at: '2026-01-02T15:04:05.123Z',
};

describe('order event messages', () => {
  it('maps a stored event to the published shape, whitelisting its fields', () => {
    expect(toOrderEventMessage(stored)).toEqual(message);
    expect(Object.keys(toOrderEventMessage(stored)).sort()).toEqual(
      ['client_order_id', 'created_at', 'data', 'id', 'status', 'strategy_id', 'symbol', 'type'].sort(),
    );
  });

  it('takes only the id from what it publishes', () => {
    expect(parseAnnouncedEventId(JSON.stringify(message))).toBe(42);
    expect(parseAnnouncedEventId(JSON.stringify({ id: 7, symbol: 'FORGED' }))).toBe(7);
  });

  it.each([
    ['not JSON', '{'],
    ['a JSON array', '[42]'],
    ['null', 'null'],
    ['a bare number', '42'],
    ['a string id', JSON.stringify({ ...message, id: '42' })],
    ['a zero id', JSON.stringify({ ...message, id: 0 })],
    ['a negative id', JSON.stringify({ ...message, id: -3 })],
    ['a fractional id', JSON.stringify({ ...message, id: 1.5 })],
    ['an id past the exact range', JSON.stringify({ ...message, id: 2 ** 53 })],
    ['no id', JSON.stringify({ ...message, id: undefined })],
  ])('announces nothing with %s', (_what, raw) => {
    expect(parseAnnouncedEventId(raw)).toBeUndefined();
  });

  describe('matchesFilter', () => {
    it('no filter and no scope: everything', () => {
      expect(matchesFilter(message, {})).toBe(true);
    });

    it('the key scope limits what is seen', () => {
      expect(matchesFilter(message, { strategyScope: ['alpha_baseline'] })).toBe(true);
      expect(matchesFilter(message, { strategyScope: ['momo_v2'] })).toBe(false);
      expect(matchesFilter(message, { strategyScope: [] })).toBe(false);
    });

    it('strategy and symbol filters are exact', () => {
      expect(matchesFilter(message, { strategyId: 'alpha_baseline', symbol: 'AAPL' })).toBe(true);
      expect(matchesFilter(message, { strategyId: 'alpha' })).toBe(false);
      expect(matchesFilter(message, { symbol: 'MSFT' })).toBe(false);
    });

    it('a filter inside the scope still needs the scope', () => {
      expect(matchesFilter(message, { strategyId: 'alpha_baseline', strategyScope: ['momo_v2'] })).toBe(false);
    });
  });

  it('frames an event with its id, type and one data line', () => {
    const frame = sseFrame({ ...message, data: { note: 'line\nbreak' } });
    const lines = frame.split('\n');
    expect(lines[0]).toBe('id: 42');
    expect(lines[1]).toBe('event: order.status');
    expect(lines[2].startsWith('data: ')).toBe(true);
    expect(JSON.parse(lines[2].slice('data: '.length))).toMatchObject({ id: 42, data: { note: 'line\nbreak' } });
    expect(frame.endsWith('\n\n')).toBe(true);
    expect(lines).toHaveLength(5);
  });
});
