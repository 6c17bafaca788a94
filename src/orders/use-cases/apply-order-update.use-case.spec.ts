import { AuditRepository } from '../../audit/audit.repository';
import { OrderEventPublisher } from '../../events/order-event.publisher';
import { OrderEventRepository } from '../../events/persistence/order-event.repository';
import { ManualClock } from '../../infra/clock/clock';
import { Tx, UnitOfWork } from '../../infra/database/unit-of-work';
import { GatewayMetrics } from '../../infra/metrics/gateway-metrics';
import { PositionRepository } from '../../positions/persistence/position.repository';
import { Order } from '../../trading/order';
import { makeOrder as order, report } from '../../../test/support/order-update.fixtures';
import { FillRepository } from '../persistence/fill.repository';
import { OrderRepository } from '../persistence/order.repository';
import { ApplyOrderUpdateUseCase } from './apply-order-update.use-case';

const TX = { tx: true } as unknown as Tx;

function setup(locked: Order | null, insertResult = true) {
  const calls: string[] = [];
  const log =
    <T>(name: string, result?: T) =>
    async (..._args: unknown[]): Promise<T> => {
      calls.push(name);
      return result as T;
    };
  const orders = {
    lockForUpdate: jest.fn(log('order.lock', locked)),
    updateLifecycle: jest.fn(log('order.update')),
    setNextAttempt: jest.fn(log('order.nextAttempt')),
  };
  const fills = { insert: jest.fn(log('fill.insert', insertResult)) };
  const positions = {
    lockOrCreate: jest.fn(log('position.lock', { qty: '0', avgEntryPrice: '0', realizedPl: '0' })),
    save: jest.fn(log('position.save')),
  };
  const events = { append: jest.fn(async (_tx: Tx, e: { eventType: string }) => void calls.push(e.eventType)) };
  const audit = { append: jest.fn(async (a: { action: string }) => void calls.push(`audit:${a.action}`)) };
  const publisher = { kick: jest.fn() };
  const metrics = { orderStatus: jest.fn() };
  const uow = { run: jest.fn(async <T>(fn: (tx: Tx) => Promise<T>) => fn(TX)) };
  const useCase = new ApplyOrderUpdateUseCase(
    uow as unknown as UnitOfWork,
    orders as unknown as OrderRepository,
    fills as unknown as FillRepository,
    positions as unknown as PositionRepository,
    events as unknown as OrderEventRepository,
    publisher as unknown as OrderEventPublisher,
    audit as unknown as AuditRepository,
    new ManualClock(new Date('2026-03-02T15:00:00Z')),
    metrics as unknown as GatewayMetrics,
  );
  return { useCase, calls, orders, fills, positions, publisher, metrics, uow };
}

describe('ApplyOrderUpdateUseCase', () => {
  it('records a new fill: locks, inserts, saves the position, runs the hook, then writes the order and its events', async () => {
    const t = setup(order());
    const hook = jest.fn(async (_tx: Tx, _symbol: string) => void t.calls.push('hook'));
    const res = await t.useCase.apply(report({ status: 'filled', filledQty: '10', filledAvgPrice: '100' }), {
      onFillRecorded: hook,
    });
    expect(res).toEqual({ outcome: 'applied', status: 'filled', fillsRecorded: 1 });
    expect(t.uow.run).toHaveBeenCalledTimes(1);
    expect(t.calls).toEqual([
      'order.lock',
      'position.lock',
      'fill.insert',
      'position.save',
      'hook',
      'order.update',
      'order.fill',
      'order.status',
      'audit:order.filled',
    ]);
    expect(hook).toHaveBeenCalledWith(TX, 'AAA');
    expect(t.positions.save.mock.calls[0].slice(1, 3)).toEqual([
      'AAA',
      { qty: '10', avgEntryPrice: '100', realizedPl: '0' },
    ]);
    expect(t.metrics.orderStatus).toHaveBeenCalledWith('filled');
    expect(t.publisher.kick).toHaveBeenCalled();
  });

  it('a fill the database already holds moves neither filled_qty nor the position; the status still applies', async () => {
    const t = setup(order(), false);
    const hook = jest.fn();
    const res = await t.useCase.apply(report({ status: 'filled', filledQty: '10', filledAvgPrice: '100' }), {
      onFillRecorded: hook,
    });
    expect(res).toEqual({ outcome: 'applied', status: 'filled', fillsRecorded: 0 });
    expect(t.calls).toEqual([
      'order.lock',
      'position.lock',
      'fill.insert',
      'order.update',
      'order.status',
      'audit:order.filled',
    ]);
    expect(hook).not.toHaveBeenCalled();
    expect(t.orders.updateLifecycle.mock.calls[0][2]).toMatchObject({ status: 'filled', filledQty: '0' });
  });

  it('does not lock the position when no fill is possible, and writes nothing for a replay', async () => {
    const t = setup(order({ status: 'new' }));
    const res = await t.useCase.apply(report({ status: 'new' }));
    expect(res).toEqual({ outcome: 'unchanged', status: 'new', fillsRecorded: 0 });
    expect(t.calls).toEqual(['order.lock']);
    expect(t.publisher.kick).not.toHaveBeenCalled();
  });

  it('answers unknown_order and writes nothing for an order it does not know', async () => {
    const t = setup(null);
    expect(await t.useCase.apply(report({ status: 'filled', filledQty: '10', filledAvgPrice: '1' }))).toEqual({
      outcome: 'unknown_order',
      fillsRecorded: 0,
    });
    expect(t.calls).toEqual(['order.lock']);
  });

  it('records a 429 retry: one more attempt, the next attempt time, audited, no event and no kick', async () => {
    const t = setup(order({ status: 'pending_new', brokerOrderId: null, retryCount: 1 }));
    const retryAt = new Date('2026-03-02T15:00:05Z');
    const res = await t.useCase.recordSubmitOutcome('c-1', 'pending_new', { errorMessage: '429', retryAt });
    expect(res).toEqual({ outcome: 'applied', status: 'pending_new', fillsRecorded: 0 });
    expect(t.calls).toEqual(['order.lock', 'order.update', 'order.nextAttempt', 'audit:order.submit_retry_scheduled']);
    expect(t.orders.updateLifecycle.mock.calls[0][2]).toMatchObject({ retryCount: 2, errorMessage: '429' });
    expect(t.orders.setNextAttempt).toHaveBeenCalledWith(TX, 'c-1', retryAt);
    expect(t.publisher.kick).not.toHaveBeenCalled();
  });

  it('does not overwrite a status the broker already moved past', async () => {
    const t = setup(order({ status: 'filled', filledQty: '10', filledAvgPrice: '100' }));
    const res = await t.useCase.recordSubmitOutcome('c-1', 'submitted_unconfirmed', { errorMessage: 'timeout' });
    expect(res).toEqual({ outcome: 'unchanged', status: 'filled', fillsRecorded: 0 });
    expect(t.calls).toEqual(['order.lock']);
  });
});
