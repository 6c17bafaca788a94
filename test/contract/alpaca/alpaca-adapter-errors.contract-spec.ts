/**
 * The real Alpaca adapter on the real SDK against the fake Alpaca server:
 * how answers and failures under injected faults are classified (rejected,
 * unknown outcome, retryable, auth), and that nothing is retried behind the
 * caller's back.
 */
import { adapterHarness, brokerError, orderRequest } from './alpaca-adapter.harness';

const { fake, client } = adapterHarness();

describe('Alpaca adapter: error classification', () => {
  it('classifies a duplicate client_order_id as rejected with duplicateClientOrderId', async () => {
    const alpaca = client();
    const first = await alpaca.submitOrder(orderRequest('eg-dup'));
    await alpaca.cancelOrder(first.id);
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-dup')));
    expect(e.kind).toBe('rejected');
    expect(e.details).toMatchObject({ status: 422, code: 40010001, duplicateClientOrderId: true });
  });

  it('a 500 after the broker stored the order is an unknown outcome, resolved by lookup', async () => {
    const alpaca = client();
    fake.failNext('POST /v2/orders', 1, { status: 500, afterAccept: true });
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-500')));
    expect(e).toMatchObject({ kind: 'unknown_outcome', details: { status: 500 } });
    expect(await alpaca.getOrderByClientOrderId('eg-500')).toMatchObject({ clientOrderId: 'eg-500' });
    expect(fake.postOrderCount('eg-500')).toBe(1);
  });

  it('a 503 before acting is also unknown (the adapter cannot tell), and the lookup then finds nothing', async () => {
    const alpaca = client();
    fake.failNext('POST /v2/orders', 1, { status: 503 });
    expect((await brokerError(alpaca.submitOrder(orderRequest('eg-503')))).kind).toBe('unknown_outcome');
    expect(await alpaca.getOrderByClientOrderId('eg-503')).toBeNull();
  });

  it('a dropped answer after accept is an unknown outcome, with exactly one order and one POST (no retry)', async () => {
    const alpaca = client();
    fake.dropResponseAfterAccept(1);
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-drop')));
    expect(e.kind).toBe('unknown_outcome');
    expect(e.message).toMatch(/network failure/);
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.postOrderCount()).toBe(1);
    expect(fake.postOrderCount('eg-drop')).toBe(1);
    expect(fake.orders()).toHaveLength(1);
    expect(await alpaca.getOrderByClientOrderId('eg-drop')).toMatchObject({ status: 'new' });
  });

  it('a submit past its deadline is an unknown outcome, even though the broker acted', async () => {
    const alpaca = client({ submitTimeoutMs: 150 });
    fake.delayResponse(1500, { route: 'POST /v2/orders', count: 2 });
    const started = Date.now();
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-late')));
    expect(e.kind).toBe('unknown_outcome');
    expect(e.message).toMatch(/deadline of 150 ms exceeded/);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.orderByClientOrderId('eg-late')).toBeDefined();
    expect(fake.postOrderCount()).toBe(1);

    // A per-call deadline overrides the configured one.
    const again = await brokerError(alpaca.submitOrder(orderRequest('eg-late-2'), { timeoutMs: 50 }));
    expect(again.kind).toBe('unknown_outcome');
  });

  it('429 is retryable with the broker retry-after, and is not retried by the SDK', async () => {
    const alpaca = client();
    fake.failNext('POST /v2/orders', 1, { status: 429, retryAfterSeconds: 2 });
    const e = await brokerError(alpaca.submitOrder(orderRequest('eg-429')));
    expect(e).toMatchObject({ kind: 'retryable', details: { status: 429, retryAfterMs: 2000 } });
    expect(fake.postOrderCount()).toBe(1);
    fake.failNext('GET /v2/orders', 1, { status: 429 });
    expect((await brokerError(alpaca.listOrders({ status: 'open' }))).kind).toBe('retryable');
    expect(fake.requests('GET /v2/orders')).toHaveLength(1);
  });

  it('403 insufficient buying power is a rejection; wrong keys are an auth error', async () => {
    fake.rejectNext(1);
    const e = await brokerError(client().submitOrder(orderRequest('eg-403')));
    expect(e).toMatchObject({ kind: 'rejected', details: { status: 403, code: 40310000 } });
    expect(fake.orders()).toHaveLength(0);

    const wrong = client({ secretKey: 'wrong' });
    expect((await brokerError(wrong.getAccount())).kind).toBe('auth');
  });
});
