import { BrokerPacer } from '../../broker/pacing/broker-pacer';
import { AppConfig } from '../../config/app-config';
import { ManualClock } from '../../infra/clock/clock';
import { Order } from '../../trading/order';
import { OrderSendRepository } from '../persistence/order-send.repository';
import { DispatchOrderUseCase, DispatchResult } from '../use-cases/dispatch-order.use-case';
import { PacedDispatchService } from './paced-dispatch.service';

describe('PacedDispatchService', () => {
  const order = { clientOrderId: 'o-1', status: 'pending_new', metadata: {} } as Order;
  const result = { outcome: 'retry_scheduled', order } as DispatchResult;

  function make(tryAcquire: () => Promise<boolean>, spent = false) {
    const pacer = {
      spent: jest.fn(() => spent),
      tryAcquire: jest.fn(tryAcquire),
      acquire: jest.fn(() => new Promise<void>(() => undefined)),
      withSlot: jest.fn(<T>(fn: () => Promise<T>) => fn()),
      backlog: () => ({ cancel: 0, submit: 0, read: 0 }),
      usage: () => ({ used: 10, budget: 10 }),
      windowMs: 60_000,
    };
    const orders = { holdForPacing: jest.fn(async () => undefined) };
    const dispatcher = { dispatch: jest.fn(async () => result) };
    const config = { broker: { submitTimeoutMs: 2_000 } } as AppConfig;
    const service = new PacedDispatchService(
      config,
      pacer as unknown as BrokerPacer,
      orders as unknown as OrderSendRepository,
      dispatcher as unknown as DispatchOrderUseCase,
      new ManualClock(),
    );
    return { service, pacer, orders, dispatcher };
  }

  it('sends at once when the budget has room', async () => {
    const { service, orders, dispatcher, pacer } = make(async () => true);
    await expect(service.dispatchOrQueue(order)).resolves.toBe(result);
    expect(pacer.withSlot).toHaveBeenCalledTimes(1);
    expect(dispatcher.dispatch).toHaveBeenCalledWith(order);
    expect(orders.holdForPacing).not.toHaveBeenCalled();
  });

  it('queues behind a full budget, held for its turn (answer 202)', async () => {
    const { service, orders, dispatcher } = make(async () => false);
    await expect(service.dispatchOrQueue(order)).resolves.toBeNull();
    expect(orders.holdForPacing).toHaveBeenCalledTimes(1);
    expect(dispatcher.dispatch).not.toHaveBeenCalled();
  });

  it('with the budget unreadable (Redis down), dispatches (a retryable failure, retried soon) instead of holding it for windows', async () => {
    const { service, orders, dispatcher, pacer } = make(async () => {
      throw new Error('Connection is closed.');
    });
    await expect(service.dispatchOrQueue(order)).resolves.toBe(result);
    expect(dispatcher.dispatch).toHaveBeenCalledWith(order);
    expect(pacer.withSlot).not.toHaveBeenCalled();
    expect(orders.holdForPacing).not.toHaveBeenCalled();
  });

  it('writes no hold when the budget is not known spent: the order tries for a slot once written', () => {
    const { service } = make(async () => true);
    expect(service.holdIfSpent()).toBeNull();
  });

  it('with the budget known spent, gives the hold the order is written with, and queues such an order at once (no second statement)', async () => {
    const { service, orders, dispatcher, pacer } = make(async () => true, true);
    const hold = service.holdIfSpent();
    // One window for the queue ahead (none), one more, and the submit timeout.
    expect(hold?.getTime()).toBe(new ManualClock().now().getTime() + 2 * 60_000 + 2_000);
    const held = { ...order, metadata: { paced_until: hold?.toISOString() } } as Order;
    await expect(service.dispatchOrQueue(held)).resolves.toBeNull();
    expect(pacer.tryAcquire).not.toHaveBeenCalled();
    expect(orders.holdForPacing).not.toHaveBeenCalled();
    expect(pacer.acquire).toHaveBeenCalledWith('submit');
    expect(dispatcher.dispatch).not.toHaveBeenCalled();
  });
});
