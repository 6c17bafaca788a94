/**
 * The real Alpaca adapter on the real SDK against the fake Alpaca server:
 * commands (submit, cancel, replace, close) and reports (orders, positions,
 * account, FILL activities) in Alpaca's wire format. Error classification:
 * alpaca-adapter-errors.contract-spec.ts; the stream: alpaca-adapter-stream.contract-spec.ts.
 */
import { adapterHarness, brokerError, orderRequest } from './alpaca-adapter.harness';
import { Decimal } from '../../../src/common/decimal';

const { fake, client } = adapterHarness();

describe('Alpaca adapter: commands and reports', () => {
  it('submits decimal strings with our client_order_id and finds the order by it', async () => {
    const alpaca = client();
    const order = await alpaca.submitOrder(orderRequest('eg-1', { type: 'limit', limitPrice: '150.50' }));
    expect(order).toMatchObject({
      clientOrderId: 'eg-1',
      symbol: 'AAPL',
      side: 'buy',
      qty: '10',
      type: 'limit',
      limitPrice: '150.5',
      status: 'new',
      filledQty: '0',
      filledAvgPrice: null,
    });
    expect(order.createdAt).toBeInstanceOf(Date);
    const [post] = fake.requests('POST /v2/orders');
    expect(post.body).toEqual({
      client_order_id: 'eg-1',
      symbol: 'AAPL',
      side: 'buy',
      qty: '10',
      type: 'limit',
      time_in_force: 'day',
      limit_price: '150.5',
    });

    expect(await alpaca.getOrderByClientOrderId('eg-1')).toMatchObject({ id: order.id, status: 'new' });
    expect(await alpaca.getOrder(order.id)).toMatchObject({ clientOrderId: 'eg-1' });
    expect(await alpaca.getOrderByClientOrderId('never-sent')).toBeNull();
    expect(await alpaca.getOrder('00000000-0000-4000-8000-000000000000')).toBeNull();
  });

  it('cancel: 204 is acceptance, 422 is "not cancelable", unknown id is not_found', async () => {
    const alpaca = client();
    const order = await alpaca.submitOrder(orderRequest('eg-cancel'));
    await expect(alpaca.cancelOrder(order.id)).resolves.toBeUndefined();
    const e = await brokerError(alpaca.cancelOrder(order.id));
    expect(e).toMatchObject({ kind: 'rejected', details: { status: 422 } });
    expect(e.message).toMatch(/not cancelable/);
    expect((await brokerError(alpaca.cancelOrder('00000000-0000-4000-8000-00000000dead'))).kind).toBe('not_found');
  });

  it('replace returns the new order; cancel-all reports each order', async () => {
    const alpaca = client();
    const old = await alpaca.submitOrder(orderRequest('eg-r1', { type: 'limit', limitPrice: '1' }));
    const next = await alpaca.replaceOrder(old.id, { limitPrice: '1.25', clientOrderId: 'eg-r2' });
    expect(next).toMatchObject({ clientOrderId: 'eg-r2', replaces: old.id, limitPrice: '1.25' });
    expect(await alpaca.getOrder(old.id)).toMatchObject({ status: 'replaced', replacedBy: next.id });
    const other = await alpaca.submitOrder(orderRequest('eg-r3', { type: 'limit', limitPrice: '1' }));
    expect(await alpaca.cancelAllOrders()).toEqual([
      { brokerOrderId: next.id, status: 200 },
      { brokerOrderId: other.id, status: 200 },
    ]);
  });

  it('lists orders by status and symbols', async () => {
    const alpaca = client();
    const a = await alpaca.submitOrder(orderRequest('eg-l1'));
    const b = await alpaca.submitOrder(orderRequest('eg-l2', { symbol: 'MSFT' }));
    await alpaca.cancelOrder(a.id);
    expect((await alpaca.listOrders({ status: 'open' })).map((o) => o.id)).toEqual([b.id]);
    expect((await alpaca.listOrders({ status: 'closed' })).map((o) => o.id)).toEqual([a.id]);
    expect(await alpaca.listOrders({ status: 'all', symbols: ['AAPL', 'TSLA'] })).toHaveLength(1);
    expect(fake.requests('GET /v2/orders').at(-1)!.query).toMatchObject({ symbols: 'AAPL,TSLA', limit: '500' });
  });

  it('positions are signed, close-position returns the closing order, the account maps its blocks', async () => {
    const alpaca = client();
    fake.setFillBehaviour({ mode: 'instant' });
    fake.setPrice('AAPL', '187.5');
    fake.setPrice('TSLA', '250');
    await alpaca.submitOrder(orderRequest('eg-p1', { qty: '10' }));
    await alpaca.submitOrder(orderRequest('eg-p2', { symbol: 'TSLA', side: 'sell', qty: '3' }));
    await fake.whenIdle();
    expect(await alpaca.listPositions()).toEqual([
      {
        symbol: 'AAPL',
        qty: '10',
        avgEntryPrice: '187.5',
        marketValue: '1875',
        currentPrice: '187.5',
        unrealizedPl: '0',
      },
      { symbol: 'TSLA', qty: '-3', avgEntryPrice: '250', marketValue: '-750', currentPrice: '250', unrealizedPl: '0' },
    ]);

    const closing = await alpaca.closePosition('AAPL', { qty: '4' });
    expect(closing).toMatchObject({ symbol: 'AAPL', side: 'sell', qty: '4', type: 'market' });
    expect(fake.requests('DELETE /v2/positions/:symbol')[0].query).toEqual({ qty: '4' });
    expect((await brokerError(alpaca.closePosition('NVDA'))).kind).toBe('not_found');

    // GET /v2/account in Alpaca's wire format (AAPL 6 after the close of 4 above, TSLA −3): equity = cash + long + short.
    expect(await alpaca.getAccount()).toMatchObject({
      currency: 'USD',
      tradingBlocked: false,
      longMarketValue: '1125',
      shortMarketValue: '-750',
    });
    const a = await alpaca.getAccount();
    expect(new Decimal(a.cash).plus(a.longMarketValue!).plus(a.shortMarketValue!).eq(a.equity)).toBe(true);
    fake.setAccount({ trade_suspended_by_user: true });
    expect((await alpaca.getAccount()).tradingBlocked).toBe(true);
  });

  it('pages FILL activities oldest first with distinct ids and every field', async () => {
    const alpaca = client();
    fake.setFillBehaviour({ mode: 'manual' });
    const a = await alpaca.submitOrder(orderRequest('eg-f1', { qty: '3' }));
    const b = await alpaca.submitOrder(orderRequest('eg-f2', { symbol: 'MSFT', side: 'sell', qty: '3' }));
    fake.fill(a.id, '1', '100.10');
    fake.fill(b.id, '1', '400');
    fake.fill(a.id, '2', '100.30');
    fake.fill(b.id, '1', '401');
    fake.fill(b.id, '1', '402.5');

    const pages = [];
    let token: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await alpaca.listFills({ pageSize: 2, pageToken: token });
      pages.push(page);
      if (page.nextPageToken === null) break;
      token = page.nextPageToken;
    }
    expect(pages.map((p) => p.fills.length)).toEqual([2, 2, 1]);
    expect(pages.map((p) => p.nextPageToken === null)).toEqual([false, false, true]);
    const fills = pages.flatMap((p) => p.fills);
    expect(new Set(fills.map((f) => f.executionId)).size).toBe(5);
    expect(fills.map((f) => f.price)).toEqual(['100.1', '400', '100.3', '401', '402.5']);
    expect(fills[2]).toEqual({
      executionId: fake.activities()[2].id,
      brokerOrderId: a.id,
      symbol: 'AAPL',
      side: 'buy',
      qty: '2',
      price: '100.3',
      cumQty: '3',
      leavesQty: '0',
      transactionTime: expect.any(Date),
    });
    expect(fills[4]).toMatchObject({ side: 'sell', cumQty: '3', leavesQty: '0', brokerOrderId: b.id });
    const queries = fake.requests('GET /v2/account/activities').map((r) => r.query);
    expect(queries[0]).toEqual({ activity_types: 'FILL', direction: 'asc', page_size: '2' });
    expect(queries[1]).toEqual({
      activity_types: 'FILL',
      direction: 'asc',
      page_size: '2',
      page_token: pages[0].nextPageToken,
    });

    const after = await alpaca.listFills({
      after: new Date(Date.now() - 60_000),
      until: new Date(Date.now() + 60_000),
    });
    expect(after).toMatchObject({ nextPageToken: null });
    expect(after.fills).toHaveLength(5);
  });
});
