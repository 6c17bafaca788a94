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

function setup(locked: Order | null, insertResult = true, batchLocked: Order[] = []) {
  const calls: string[] = [];
  const log =
    <T>(name: string, result?: T) =>
    async (..._args: unknown[]): Promise<T> => {
      calls.push(name);
      return result as T;
    };
  const orders = {
    lockForUpdate: jest.fn(log('order.lock', locked)),
    lockMany: jest.fn(log('order.lockMany', batchLocked)),
    updateLifecycle: jest.fn(log('order.update')),
    updateLifecycleManyStatement: jest.fn((changes: unknown[]) => ({ text: 'orders', values: changes })),
    setNextAttempt: jest.fn(log('order.nextAttempt')),
  };
  const fills = {
    insert: jest.fn(log('fill.insert', insertResult)),
    insertManyStatement: jest.fn((batch: unknown[]) => ({ text: 'fills', values: batch })),
  };
  const positions = {
    lockOrCreate: jest.fn(log('position.lock', { qty: '0', avgEntryPrice: '0', realizedPl: '0' })),
    save: jest.fn(log('position.save')),
    saveStatement: jest.fn((...args: unknown[]) => ({ text: 'position', values: args })),
  };
  const events = {
    append: jest.fn(async (_tx: Tx, e: { eventType: string }) => void calls.push(e.eventType)),
    appendManyStatements: jest.fn((events: unknown[]) => [{ text: 'events', values: events }]),
  };
  const audit = {
    append: jest.fn(async (a: { action: string }) => void calls.push(`audit:${a.action}`)),
    appendManyStatements: jest.fn((entries: unknown[]) => [{ text: 'audit', values: entries }]),
  };
  const publisher = { kick: jest.fn() };
  const metrics = { orderStatus: jest.fn() };
  const uow = {
    run: jest.fn(async <T>(fn: (tx: Tx) => Promise<T>) => fn(TX)),
    // A batch's writes, one statement: its fills all new unless insertResult says the first was already recorded.
    together: jest.fn(
      async (_tx: Tx, parts: Array<{ name: string; statement: { text: string; values: unknown[] } }>) => {
        calls.push(`together:${parts.map((p) => p.statement.text).join(',')}`);
        const fills = parts.find((p) => p.name === 'fills')?.statement.values.length ?? 0;
        return { fills: insertResult ? fills : fills - 1 };
      },
    ),
  };
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
  return { useCase, calls, orders, fills, positions, events, audit, publisher, metrics, uow };
}

describe('ApplyOrderUpdateUseCase', () => {
  it('records a new fill: locks, inserts, saves the position, runs the hook, then writes the order and its events', async () => {
    const t = setup(order());
    const hook = jest.fn(async (_tx: Tx, _symbol: string) => void t.calls.push('hook'));
    const res = await t.useCase.apply(report({ status: 'filled', filledQty: '10', filledAvgPrice: '100' }), {
      onFillRecorded: hook,
    });
    expect(res).toEqual({
      outcome: 'applied',
      status: 'filled',
      fillsRecorded: 1,
      // The order as the unit of work left it: the caller needs no second read.
      order: {
        ...order(),
        status: 'filled',
        filledQty: '10',
        filledAvgPrice: '100',
        filledAt: expect.any(Date),
        updatedAt: expect.any(Date),
      },
    });
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
    expect(res).toMatchObject({ outcome: 'applied', status: 'filled', fillsRecorded: 0 });
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
    expect(res).toEqual({ outcome: 'unchanged', status: 'new', fillsRecorded: 0, order: order() });
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
    expect(res).toMatchObject({ outcome: 'unchanged', status: 'filled', fillsRecorded: 0 });
    expect(t.calls).toEqual(['order.lock']);
  });

  describe('applyMany (a batch of one symbol)', () => {
    it('decides a second report of an order against the state the first left, without reading the order again', async () => {
      const t = setup(null, true, [order()]);
      const res = await t.useCase.applyMany([
        report({ status: 'partially_filled', filledQty: '4', filledAvgPrice: '100' }),
        report({ status: 'filled', filledQty: '10', filledAvgPrice: '101.2' }),
      ]);
      expect(res).toMatchObject([
        { outcome: 'applied', status: 'partially_filled', fillsRecorded: 1 },
        { outcome: 'applied', status: 'filled', fillsRecorded: 1 },
      ]);
      // Each answer carries the order as the whole batch left it (what a read after the commit sees).
      for (const r of res)
        expect(r.order).toMatchObject({ status: 'filled', filledQty: '10', filledAvgPrice: '101.2' });
      expect(t.orders.lockForUpdate).not.toHaveBeenCalled();
      // The second fill is the 6 shares after the first 4 (against the locked row it would be all 10),
      // both written in one statement at the batch's end.
      expect(t.fills.insert).not.toHaveBeenCalled();
      expect(t.fills.insertManyStatement).toHaveBeenCalledTimes(1);
      expect(t.fills.insertManyStatement.mock.calls[0][0]).toMatchObject([
        { qty: '4', price: '100', cumQty: '4' },
        { qty: '6', price: '102', cumQty: '10' },
      ]);
      // The order's row is written once, as its last change leaves it.
      expect(t.orders.updateLifecycle).not.toHaveBeenCalled();
      expect(t.orders.updateLifecycleManyStatement.mock.calls[0][0]).toMatchObject([
        { clientOrderId: 'c-1', change: { status: 'filled', filledQty: '10', filledAvgPrice: '101.2' } },
      ]);
      const events = t.events.appendManyStatements.mock.calls[0][0] as Array<{ payload: object }>;
      expect(events.map((e) => e.payload)).toMatchObject([
        { qty: '4', filled_qty: '4', position_qty: '4' },
        { previous_status: 'new' },
        { qty: '6', filled_qty: '10', position_qty: '10' },
        { previous_status: 'partially_filled' },
      ]);
      // The position is written once, as the last fill left it.
      expect(t.positions.save).not.toHaveBeenCalled();
      expect(t.positions.saveStatement).toHaveBeenCalledTimes(1);
      expect(t.positions.saveStatement.mock.calls[0].slice(0, 2)).toEqual([
        'AAA',
        { qty: '10', avgEntryPrice: '101.2', realizedPl: '0' },
      ]);
    });

    it("writes the batch's events and audit rows once each, at its end, in report order", async () => {
      const t = setup(null, true, [order(), order({ clientOrderId: 'c-2', brokerOrderId: 'b-2' })]);
      await t.useCase.applyMany([
        report({ id: 'b-2', clientOrderId: 'c-2', status: 'filled', filledQty: '10', filledAvgPrice: '100' }),
        report({ status: 'canceled' }),
        report({ id: 'b-2', clientOrderId: 'c-2', status: 'filled', filledQty: '10', filledAvgPrice: '100' }),
      ]);
      // The orders locked, then the position, then every write in one statement, one round trip.
      expect(t.calls).toEqual(['order.lockMany', 'position.lock', 'together:fills,orders,position,events,audit']);
      expect(
        (t.orders.updateLifecycleManyStatement.mock.calls[0][0] as Array<Record<string, unknown>>).map((u) => [
          u.clientOrderId,
          (u.change as { status: string }).status,
        ]),
      ).toEqual([
        ['c-2', 'filled'],
        ['c-1', 'canceled'],
      ]);
      expect(t.events.append).not.toHaveBeenCalled();
      expect(t.audit.append).not.toHaveBeenCalled();
      const events = t.events.appendManyStatements.mock.calls[0][0] as Array<Record<string, unknown>>;
      expect(events.map((e) => [e.clientOrderId, e.eventType, e.status])).toEqual([
        ['c-2', 'order.fill', 'new'],
        ['c-2', 'order.status', 'filled'],
        ['c-1', 'order.status', 'canceled'],
      ]);
      const audit = t.audit.appendManyStatements.mock.calls[0][0] as Array<Record<string, unknown>>;
      expect(audit.map((a) => [a.clientOrderId, a.action])).toEqual([
        ['c-2', 'order.filled'],
        ['c-1', 'order.canceled'],
      ]);
    });

    it('looks up a report not among the locked orders as apply does, then carries its state on', async () => {
      const t = setup(order({ clientOrderId: 'c-9', brokerOrderId: 'b-9' }), true, [order()]);
      const res = await t.useCase.applyMany([
        report({
          id: 'b-9',
          clientOrderId: 'broker-side',
          status: 'partially_filled',
          filledQty: '3',
          filledAvgPrice: '1',
        }),
        report({ status: 'canceled' }),
        report({ id: 'b-9', clientOrderId: 'c-9', status: 'filled', filledQty: '5', filledAvgPrice: '1' }),
      ]);
      expect(res.map((r) => r.status)).toEqual(['partially_filled', 'canceled', 'filled']);
      expect(t.orders.lockForUpdate).toHaveBeenCalledTimes(1);
      expect(t.orders.lockForUpdate).toHaveBeenCalledWith(TX, { clientOrderId: 'broker-side', brokerOrderId: 'b-9' });
      expect(t.fills.insertManyStatement.mock.calls[0][0]).toMatchObject([
        { clientOrderId: 'c-9', qty: '3', cumQty: '3' },
        { clientOrderId: 'c-9', qty: '2', cumQty: '5' },
      ]);
    });

    it('a fill of the batch already recorded (by another path) fails the batch: each report is then applied alone', async () => {
      const t = setup(order(), false, [order()]);
      await t.useCase.applyMany([
        report({ status: 'partially_filled', filledQty: '4', filledAvgPrice: '100' }),
        report({ status: 'canceled' }),
      ]);
      // The batch wrote everything in one statement, which found the fill recorded: the batch is rolled back.
      expect(t.uow.together).toHaveBeenCalledTimes(1);
      expect(t.calls[2]).toBe('together:fills,orders,position,events,audit');
      await expect(t.uow.run.mock.results[0].value).rejects.toThrow('already recorded');
      // Then each report alone, its fill decided knowing it was recorded.
      expect(t.orders.lockForUpdate).toHaveBeenCalledTimes(2);
      expect(t.fills.insert).toHaveBeenCalledTimes(1);
    });
  });
});
