import { BrokerPacer } from '../../broker/pacing/broker-pacer';
import { AppConfig } from '../../config/app-config';
import { ManualClock } from '../../infra/clock/clock';
import { Order } from '../../trading/order';
import { OrderRepository } from '../persistence/order.repository';
import { DispatchOrderUseCase, DispatchResult } from '../use-cases/dispatch-order.use-case';
import { PacedDispatchService } from './paced-dispatch.service';

describe('PacedDispatchService', () => {
  const order = { clientOrderId: 'o-1', status: 'pending_new' } as Order;
  const result = { outcome: 'retry_scheduled', order } as DispatchResult;

  function make(tryAcquire: () => Promise<boolean>) {
    const pacer = {
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
      orders as unknown as OrderRepository,
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
});
