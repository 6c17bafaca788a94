import { parseAlpacaWebhook, WebhookPayloadError } from './alpaca-webhook';

function body(over: Record<string, unknown> = {}, order: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event: 'fill',
    execution_id: 'exec-1',
    timestamp: '2026-01-02T15:00:01Z',
    price: '101.25',
    qty: '4',
    order: {
      id: 'b-1',
      client_order_id: 'c-1',
      symbol: 'whk',
      side: 'buy',
      type: 'limit',
      time_in_force: 'day',
      qty: '4',
      filled_qty: '4',
      filled_avg_price: '101.25',
      limit_price: '102',
      stop_price: null,
      status: 'filled',
      created_at: '2026-01-02T15:00:00Z',
      ...order,
    },
    ...over,
  };
}

function fieldsOf(b: unknown): string[] {
  try {
    parseAlpacaWebhook(b);
  } catch (e) {
    expect(e).toBeInstanceOf(WebhookPayloadError);
    return (e as WebhookPayloadError).fields.map((f) => f.field).sort();
  }
  throw new Error('accepted');
}

describe('parseAlpacaWebhook', () => {
  it('maps a fill and normalizes its symbol', () => {
    const u = parseAlpacaWebhook(body());
    expect(u.order.symbol).toBe('WHK');
    expect(u.execution).toMatchObject({ executionId: 'exec-1', price: '101.25', qty: '4' });
  });

  it.each([
    ['price', body({ price: '0.000000000000000000000000001' })],
    ['price', body({ price: '0' })],
    ['price', body({ price: '-1' })],
    ['price', body({ price: '1000000000' })],
    ['price', body({ price: '1.123456789' })],
    ['order.filled_avg_price', body({}, { filled_avg_price: '0.000000001' })],
    ['order.filled_avg_price', body({}, { filled_avg_price: '0' })],
    ['order.limit_price', body({}, { limit_price: '-5' })],
    ['order.stop_price', body({}, { stop_price: '0.0000000001' })],
    ['qty', body({ qty: '0' })],
  ])('names %s when a price or quantity is out of range', (field, b) => {
    expect(fieldsOf(b)).toEqual([field]);
  });

  it.each(['ſpy', '.', '../..', 'A//B', 'ß'])('refuses the symbol %j', (symbol) => {
    expect(fieldsOf(body({}, { symbol }))).toEqual(['order.symbol']);
  });

  it('names every string carrying a NUL, ids and keys included', () => {
    expect(fieldsOf(body({ execution_id: 'e\u0000' }, { client_order_id: 'c\u0000', 'x\u0000': 1 }))).toEqual([
      'execution_id',
      'order.client_order_id',
      'order.x\\u0000',
    ]);
  });

  it('names the field a malformed value is in', () => {
    expect(fieldsOf(body({}, { qty: 'four' }))).toEqual(['order.qty']);
    expect(fieldsOf(body({ price: 'x' }))).toEqual(['price']);
    expect(fieldsOf([])).toEqual(['body']);
  });

  describe('the minimal body of the original design', () => {
    const minimal = {
      event: 'fill',
      order: {
        id: 'broker123',
        client_order_id: '9467f0b30ecb46c52247b400',
        symbol: 'AAPL',
        side: 'buy',
        qty: '10',
        filled_qty: '10',
        filled_avg_price: '150.25',
        status: 'filled',
      },
      timestamp: '2025-10-17T16:30:05Z',
    };

    it('maps onto an update without an execution (deduped on the cumulative filled_qty)', () => {
      const u = parseAlpacaWebhook(minimal);
      expect(u.execution).toBeUndefined();
      expect(u.at.toISOString()).toBe('2025-10-17T16:30:05.000Z');
      expect(u.order).toMatchObject({
        id: 'broker123',
        clientOrderId: '9467f0b30ecb46c52247b400',
        status: 'filled',
        filledQty: '10',
        filledAvgPrice: '150.25',
        type: 'unknown',
        timeInForce: 'unknown',
      });
      expect(u.order.createdAt.toISOString()).toBe('2025-10-17T16:30:05.000Z');
    });

    it('leaves a full order as sent', () => {
      const u = parseAlpacaWebhook(body());
      expect(u.order).toMatchObject({ type: 'limit', timeInForce: 'day' });
      expect(u.order.createdAt.toISOString()).toBe('2026-01-02T15:00:00.000Z');
    });

    it('still needs a time: without timestamp or order times it names order.created_at', () => {
      expect(fieldsOf({ ...minimal, timestamp: undefined })).toEqual(['order.created_at']);
    });
  });
});
