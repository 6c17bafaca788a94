import { streaming, trading } from '@alpacahq/alpaca-trade-api';
import { AlpacaParseError, AlpacaRequestError } from './alpaca-errors';
import {
  isFillActivity,
  positionCloseQty,
  toBrokerAccount,
  toBrokerFill,
  toBrokerOrder,
  toBrokerPosition,
  toOrderUpdate,
  toPatchOrderRequest,
  toPostOrderRequest,
} from './alpaca-parse';

function wireOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '904837e3-3b76-47ec-b432-046db621571b',
    client_order_id: 'eg-20240102-abc',
    created_at: '2024-01-02T15:04:05.123456Z',
    updated_at: '2024-01-02T15:04:06.5Z',
    submitted_at: '2024-01-02T15:04:05.2Z',
    filled_at: null,
    expired_at: null,
    canceled_at: null,
    failed_at: null,
    replaced_at: null,
    replaced_by: null,
    replaces: null,
    asset_id: 'b0b6dd9d-8b9b-48a9-ba46-b9d54906e415',
    symbol: 'AAPL',
    asset_class: 'us_equity',
    notional: null,
    qty: '10',
    filled_qty: '4',
    filled_avg_price: '150.2500',
    order_class: '',
    order_type: 'limit',
    type: 'limit',
    side: 'buy',
    time_in_force: 'day',
    limit_price: '150.50',
    stop_price: null,
    status: 'partially_filled',
    extended_hours: false,
    legs: null,
    ...overrides,
  };
}

describe('toBrokerOrder', () => {
  it('maps an SDK order from the raw keys, keeping decimals as normalized strings', () => {
    const order = toBrokerOrder(trading.OrderFromJSON(wireOrder()));
    expect(order).toEqual({
      id: '904837e3-3b76-47ec-b432-046db621571b',
      clientOrderId: 'eg-20240102-abc',
      symbol: 'AAPL',
      side: 'buy',
      type: 'limit',
      timeInForce: 'day',
      qty: '10',
      limitPrice: '150.5',
      stopPrice: null,
      trailPrice: null,
      trailPercent: null,
      hwm: null,
      status: 'partially_filled',
      filledQty: '4',
      filledAvgPrice: '150.25',
      createdAt: new Date('2024-01-02T15:04:05.123Z'),
      updatedAt: new Date('2024-01-02T15:04:06.500Z'),
      submittedAt: new Date('2024-01-02T15:04:05.200Z'),
      filledAt: null,
      canceledAt: null,
      replacedBy: null,
      replaces: null,
    });
  });

  it('passes unknown statuses through and reads replace links', () => {
    const order = toBrokerOrder(
      trading.OrderFromJSON(wireOrder({ status: 'brand_new_status', replaced_by: 'n-1', replaces: 'o-0' })),
    );
    expect(order).toMatchObject({ status: 'brand_new_status', replacedBy: 'n-1', replaces: 'o-0' });
  });

  it('treats a missing filled_qty as 0 and a notional order as qty null', () => {
    const order = toBrokerOrder(wireOrder({ filled_qty: undefined, qty: null, notional: '500' }));
    expect(order).toMatchObject({ filledQty: '0', qty: null });
  });

  it('refuses a number where a decimal string belongs, and a missing id', () => {
    expect(() => toBrokerOrder(wireOrder({ qty: 10 }))).toThrow(AlpacaParseError);
    expect(() => toBrokerOrder(wireOrder({ id: undefined }))).toThrow(AlpacaParseError);
    expect(() => toBrokerOrder(wireOrder({ side: 'sideways' }))).toThrow(AlpacaParseError);
  });
});

describe('toOrderUpdate', () => {
  const frame = (event: string, extra: Record<string, unknown> = {}): streaming.TradeUpdate =>
    streaming.mapTradeUpdate({ event, order: wireOrder(), timestamp: '2024-01-02T15:04:07.000000123Z', ...extra });

  it('carries the execution on a partial fill', () => {
    const u = toOrderUpdate(
      frame('partial_fill', { execution_id: 'exec-1', price: '150.25', qty: '4.0', position_qty: '-4' }),
    );
    expect(u).toEqual({
      event: 'partial_fill',
      order: expect.objectContaining({ filledQty: '4', status: 'partially_filled' }),
      at: new Date('2024-01-02T15:04:07.000Z'),
      execution: { executionId: 'exec-1', qty: '4', price: '150.25', positionQty: '-4' },
    });
  });

  it('has no execution on other events, and passes unknown events through', () => {
    expect(toOrderUpdate(frame('new')).execution).toBeUndefined();
    expect(toOrderUpdate(frame('something_new')).event).toBe('something_new');
  });

  it('falls back to the order time when the event has no timestamp', () => {
    const u = toOrderUpdate(streaming.mapTradeUpdate({ event: 'canceled', order: wireOrder() }));
    expect(u.at).toEqual(new Date('2024-01-02T15:04:06.500Z'));
  });
});

describe('toBrokerFill', () => {
  const activity = {
    id: '20240102150407000::8e2b6bd2-0000-4000-8000-000000000001',
    activity_type: 'FILL',
    transaction_time: '2024-01-02T15:04:07.123456Z',
    type: 'partial_fill',
    price: '150.2500',
    qty: '4',
    side: 'sell_short',
    symbol: 'AAPL',
    leaves_qty: '6',
    cum_qty: '4',
    order_id: '904837e3-3b76-47ec-b432-046db621571b',
    order_status: 'partially_filled',
  };

  it('maps a FILL activity from the SDK model; the activity id is the execution id', () => {
    const sdk = trading.GetAccountActivities200ResponseInnerFromJSON(activity);
    expect(isFillActivity(sdk)).toBe(true);
    expect(toBrokerFill(sdk)).toEqual({
      executionId: activity.id,
      brokerOrderId: activity.order_id,
      symbol: 'AAPL',
      side: 'sell',
      qty: '4',
      price: '150.25',
      cumQty: '4',
      leavesQty: '6',
      transactionTime: new Date('2024-01-02T15:04:07.123Z'),
    });
  });

  it('recognises non-fill activities', () => {
    expect(isFillActivity({ id: 'x', activity_type: 'DIV' })).toBe(false);
  });
});

describe('toBrokerPosition', () => {
  const base = {
    symbol: 'TSLA',
    avgEntryPrice: '200.10',
    marketValue: '-2000',
    currentPrice: '200',
    unrealizedPl: '1.00',
  };

  it('signs a short position negative whether or not Alpaca already did', () => {
    expect(toBrokerPosition({ ...base, qty: '10', side: 'short' }).qty).toBe('-10');
    expect(toBrokerPosition({ ...base, qty: '-10', side: 'short' }).qty).toBe('-10');
    expect(toBrokerPosition({ ...base, qty: '10', side: 'long' })).toEqual({
      symbol: 'TSLA',
      qty: '10',
      avgEntryPrice: '200.1',
      marketValue: '-2000',
      currentPrice: '200',
      unrealizedPl: '1',
    });
  });
});

describe('toBrokerAccount', () => {
  const wire = {
    id: 'acc-1',
    status: 'ACTIVE',
    currency: 'USD',
    cash: '1000.50',
    equity: '2000',
    buying_power: '4000',
    last_equity: '1990',
    long_market_value: '1500.25',
    short_market_value: '-500.75',
    trading_blocked: false,
    account_blocked: false,
    trade_suspended_by_user: false,
  };

  it('maps amounts as strings', () => {
    expect(toBrokerAccount(trading.AccountFromJSON(wire))).toEqual({
      id: 'acc-1',
      status: 'ACTIVE',
      currency: 'USD',
      cash: '1000.5',
      equity: '2000',
      buyingPower: '4000',
      lastEquity: '1990',
      longMarketValue: '1500.25',
      shortMarketValue: '-500.75',
      tradingBlocked: false,
    });
  });

  it('leaves the market values null when the broker does not send them', () => {
    const { long_market_value: _l, short_market_value: _s, ...without } = wire;
    expect(toBrokerAccount(trading.AccountFromJSON(without))).toMatchObject({
      longMarketValue: null,
      shortMarketValue: null,
    });
  });

  it.each(['trading_blocked', 'account_blocked', 'trade_suspended_by_user'])('%s blocks trading', (flag) => {
    expect(toBrokerAccount(trading.AccountFromJSON({ ...wire, [flag]: true })).tradingBlocked).toBe(true);
  });
});

describe('requests to Alpaca', () => {
  it('sends decimal strings and our client_order_id, omitting absent prices', () => {
    const body = toPostOrderRequest({
      clientOrderId: 'eg-1',
      symbol: 'AAPL',
      side: 'buy',
      qty: '10',
      type: 'limit',
      timeInForce: 'day',
      limitPrice: '150.50',
      stopPrice: null,
    });
    expect(trading.PostOrderRequestToJSON(body)).toEqual({
      client_order_id: 'eg-1',
      symbol: 'AAPL',
      side: 'buy',
      qty: '10',
      type: 'limit',
      time_in_force: 'day',
      limit_price: '150.5',
    });
    expect(JSON.stringify(trading.PostOrderRequestToJSON(body))).not.toContain('stop_price');
  });

  it('sends a trailing stop with its trail, and extended_hours only when true', () => {
    const base = {
      clientOrderId: 'eg-2',
      symbol: 'AAPL',
      side: 'sell' as const,
      qty: '10',
      type: 'trailing_stop' as const,
      timeInForce: 'gtc' as const,
      limitPrice: null,
      stopPrice: null,
    };
    expect(trading.PostOrderRequestToJSON(toPostOrderRequest({ ...base, trailPrice: '2.50' }))).toEqual({
      client_order_id: 'eg-2',
      symbol: 'AAPL',
      side: 'sell',
      qty: '10',
      type: 'trailing_stop',
      time_in_force: 'gtc',
      trail_price: '2.5',
    });
    const pct = trading.PostOrderRequestToJSON(toPostOrderRequest({ ...base, trailPercent: '1.25' }));
    expect(pct).toMatchObject({ trail_percent: '1.25' });
    expect(JSON.stringify(pct)).not.toContain('trail_price');
    expect(JSON.stringify(pct)).not.toContain('extended_hours');
    const eh = toPostOrderRequest({
      ...base,
      type: 'limit',
      timeInForce: 'day',
      limitPrice: '150',
      extendedHours: true,
    });
    expect(trading.PostOrderRequestToJSON(eh)).toMatchObject({ extended_hours: true, limit_price: '150' });
    expect(() => toPostOrderRequest({ ...base, trailPrice: '0' })).toThrow(AlpacaRequestError);
  });

  it('reads a trailing stop back with its trail and high-water mark', () => {
    const o = toBrokerOrder(
      trading.OrderFromJSON(
        wireOrder({
          type: 'trailing_stop',
          order_type: 'trailing_stop',
          limit_price: null,
          stop_price: '97.50',
          trail_percent: '2.5',
          hwm: '100.00',
        }),
      ),
    );
    expect(o).toMatchObject({
      type: 'trailing_stop',
      stopPrice: '97.5',
      trailPercent: '2.5',
      trailPrice: null,
      hwm: '100',
    });
  });

  it('refuses malformed amounts before sending', () => {
    const req = {
      clientOrderId: 'eg-1',
      symbol: 'AAPL',
      side: 'buy' as const,
      qty: '1e3',
      type: 'market' as const,
      timeInForce: 'day' as const,
      limitPrice: null,
      stopPrice: null,
    };
    expect(() => toPostOrderRequest(req)).toThrow(AlpacaRequestError);
    expect(() => toPostOrderRequest({ ...req, qty: '0' })).toThrow(AlpacaRequestError);
    expect(() => toPostOrderRequest({ ...req, qty: '1', clientOrderId: 'x'.repeat(129) })).toThrow(AlpacaRequestError);
    expect(() => positionCloseQty('-1')).toThrow(AlpacaRequestError);
  });

  it('builds a replace body with only the changed fields', () => {
    expect(
      trading.PatchOrderRequestToJSON(toPatchOrderRequest({ limitPrice: '151.00', clientOrderId: 'eg-2' })),
    ).toEqual(expect.objectContaining({ limit_price: '151', client_order_id: 'eg-2', qty: undefined }));
    expect(() => toPatchOrderRequest({})).toThrow(AlpacaRequestError);
  });

  it("sends a trailing stop's new trail as Alpaca's `trail`", () => {
    expect(trading.PatchOrderRequestToJSON(toPatchOrderRequest({ trail: '2.50' }))).toEqual(
      expect.objectContaining({ trail: '2.5' }),
    );
  });
});
