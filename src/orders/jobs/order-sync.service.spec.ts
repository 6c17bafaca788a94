import { Logger } from '@nestjs/common';
import { BrokerClient, BrokerOrder } from '../../broker/broker-client.port';
import { AppConfig } from '../../config/app-config';
import { ManualClock } from '../../infra/clock/clock';
import { ManualScheduler } from '../../infra/clock/manual-scheduler';
import { LeaderElection } from '../../infra/leader/leader-election.service';
import { Order } from '../../trading/order';
import { OrderRepository } from '../persistence/order.repository';
import { OrderSendRepository } from '../persistence/order-send.repository';
import { ApplyOrderUpdateUseCase } from '../use-cases/apply-order-update.use-case';
import { DispatchOrderUseCase } from '../use-cases/dispatch-order.use-case';
import { OrderSyncService } from './order-sync.service';
import { OrderUpdateQueue } from './order-update-queue';

const T0 = new Date('2026-01-02T15:00:00.000Z');
const POLL_S = 2;

describe('OrderSyncService scheduling', () => {
  let clock: ManualClock;
  let scheduler: ManualScheduler;
  let leading: boolean;
  let dryRun: boolean;
  let unconfirmed: Order[];
  let open: Order[];
  let repo: {
    findDispatchable: jest.Mock;
    findStale: jest.Mock;
    findPageByStatus: jest.Mock;
  };
  let dispatcher: { adoptFromBroker: jest.Mock; dispatch: jest.Mock };
  let updates: { apply: jest.Mock; recordSubmitOutcome: jest.Mock };
  let broker: { getOrder: jest.Mock; getOrderByClientOrderId: jest.Mock; connect: jest.Mock; disconnect: jest.Mock };
  let sync: OrderSyncService;

  const order = (clientOrderId: string, over: Partial<Order> = {}): Order =>
    ({ clientOrderId, brokerOrderId: null, metadata: {}, updatedAt: T0, ...over }) as unknown as Order;

  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    clock = new ManualClock(T0);
    scheduler = new ManualScheduler(clock);
    leading = true;
    dryRun = false;
    unconfirmed = [];
    open = [];
    repo = {
      findDispatchable: jest.fn(async () => []),
      findStale: jest.fn(async () => unconfirmed),
      findPageByStatus: jest.fn(async () => open),
    };
    dispatcher = { adoptFromBroker: jest.fn(async () => null), dispatch: jest.fn(async () => undefined) };
    updates = { apply: jest.fn(async () => undefined), recordSubmitOutcome: jest.fn(async () => undefined) };
    broker = {
      getOrder: jest.fn(async (id: string) => ({ id, status: 'filled' }) as unknown as BrokerOrder),
      getOrderByClientOrderId: jest.fn(async () => null),
      connect: jest.fn(async () => undefined),
      disconnect: jest.fn(async () => undefined),
    };
    const leader = {
      onElected: () => () => undefined,
      onDemoted: () => () => undefined,
      whenLeader: async <T>(fn: () => Promise<T>) => (leading ? fn() : undefined),
    };
    const config = {
      get dryRun() {
        return dryRun;
      },
      orderPollIntervalSeconds: POLL_S,
      broker: { submitTimeoutMs: 5_000 },
    } as unknown as AppConfig;
    sync = new OrderSyncService(
      config,
      broker as unknown as BrokerClient,
      leader as unknown as LeaderElection,
      repo as unknown as OrderRepository,
      repo as unknown as OrderSendRepository,
      dispatcher as unknown as DispatchOrderUseCase,
      updates as unknown as ApplyOrderUpdateUseCase,
      clock,
      scheduler,
      { push: jest.fn(async () => undefined), drain: jest.fn(async () => undefined) } as unknown as OrderUpdateQueue,
    );
  });

  afterEach(() => sync.beforeApplicationShutdown());

  it('runs a pass every ORDER_POLL_INTERVAL_SECONDS, with the clock at the pass', async () => {
    sync.onApplicationBootstrap();
    await scheduler.advance(POLL_S * 1000 - 1);
    expect(repo.findStale).not.toHaveBeenCalled();
    await scheduler.advance(1);
    expect(repo.findDispatchable).toHaveBeenCalledTimes(1);
    expect(repo.findStale).toHaveBeenCalledWith(['submitted_unconfirmed'], new Date(T0.getTime() + 2_000), 100);
    // Open orders not heard of for a poll interval.
    expect(repo.findPageByStatus.mock.calls[0][1]).toEqual(T0);
    await scheduler.advance(POLL_S * 1000 * 3);
    expect(repo.findStale).toHaveBeenCalledTimes(4);
  });

  it('does nothing on a replica that does not lead, and schedules nothing in dry run', async () => {
    leading = false;
    sync.onApplicationBootstrap();
    await scheduler.advance(10_000);
    expect(repo.findStale).not.toHaveBeenCalled();

    await sync.beforeApplicationShutdown();
    dryRun = true;
    const pendingBefore = scheduler.pending().length;
    sync.onApplicationBootstrap();
    expect(scheduler.pending()).toHaveLength(pendingBefore);
  });

  it('sends an unconfirmed order again with the same id only once it has been unknown for 10 s', async () => {
    unconfirmed = [
      order('young', { updatedAt: new Date(T0.getTime() - 5_000) }),
      order('old', { updatedAt: new Date(T0.getTime() - 9_000) }),
    ];
    sync.onApplicationBootstrap();
    await scheduler.advance(2_000); // young: 7 s, old: 11 s
    expect(dispatcher.adoptFromBroker).toHaveBeenCalledWith('young', 'submit');
    expect(dispatcher.dispatch.mock.calls.map(([o]) => (o as Order).clientOrderId)).toEqual(['old']);
    await scheduler.advance(2_000); // young: 9 s
    expect(dispatcher.dispatch.mock.calls.map(([o]) => (o as Order).clientOrderId)).toEqual(['old', 'old']);
    await scheduler.advance(2_000); // young: 11 s
    expect(dispatcher.dispatch.mock.calls.map(([o]) => (o as Order).clientOrderId)).toEqual([
      'old',
      'old',
      'young',
      'old',
    ]);
  });

  it('polls open orders and applies what the broker reports, stamped with the clock', async () => {
    open = [order('o-1', { brokerOrderId: 'b-1' }), order('o-2')];
    sync.onApplicationBootstrap();
    await scheduler.advance(2_000);
    expect(broker.getOrder).toHaveBeenCalledWith('b-1');
    expect(broker.getOrderByClientOrderId).toHaveBeenCalledWith('o-2');
    expect(updates.apply).toHaveBeenCalledTimes(1);
    expect(updates.apply).toHaveBeenCalledWith({
      source: 'poll',
      order: { id: 'b-1', status: 'filled' },
      at: new Date(T0.getTime() + 2_000),
    });
  });

  it('skips a pass that falls due while the previous one is still running', async () => {
    repo.findDispatchable.mockImplementationOnce(async () => {
      await scheduler.sleep(5_000); // a slow database
      return [];
    });
    sync.onApplicationBootstrap();
    await scheduler.advance(2_000); // pass 1 waits until 7 s
    await scheduler.advance(4_000); // 4 s and 6 s: skipped
    expect(repo.findDispatchable).toHaveBeenCalledTimes(1);
    expect(repo.findStale).not.toHaveBeenCalled();
    await scheduler.advance(2_000); // 7 s: pass 1 ends; 8 s: pass 2
    expect(repo.findDispatchable).toHaveBeenCalledTimes(2);
    expect(repo.findStale).toHaveBeenCalledTimes(2);
  });

  it('stops at shutdown', async () => {
    sync.onApplicationBootstrap();
    await scheduler.advance(2_000);
    await sync.beforeApplicationShutdown();
    await scheduler.advance(60_000);
    expect(repo.findStale).toHaveBeenCalledTimes(1);
    expect(scheduler.errors).toEqual([]);
  });
});
