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
});
