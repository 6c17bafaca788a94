import { Logger } from '@nestjs/common';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { MemoryStateStore } from '../infra/state/memory-state-store';
import { ORDER_EVENTS_CHANNEL, OrderEventMessage, StoredOrderEvent, toOrderEventMessage } from './order-event';
import { OrderEventHub } from './order-event.hub';
import { OrderEventRepository } from './persistence/order-event.repository';

function stored(id: number, over: Partial<StoredOrderEvent> = {}): StoredOrderEvent {
  return {
    id,
    clientOrderId: `o${id}`,
    strategyId: 'alpha',
    symbol: 'AAPL',
    eventType: 'order.status',
    status: 'new',
    payload: {},
    createdAt: new Date('2026-01-02T15:00:00.000Z'),
    ...over,
  };
}

/** The outbox as the hub reads it; `old` rows were published long ago. */
class FakeOutbox {
  rows: StoredOrderEvent[] = [];
  old = new Set<number>();
  fail = false;
  queries = 0;
  async maxId(): Promise<number> {
    return Math.max(0, ...this.rows.map((r) => r.id));
  }
  async listRange(afterId: number, throughId: number, limit: number): Promise<StoredOrderEvent[]> {
    this.queries++;
    if (this.fail) throw new Error('db down');
    return this.rows.filter((r) => r.id > afterId && r.id <= throughId).slice(0, limit);
  }
  async findAnnounced(ids: readonly number[]): Promise<StoredOrderEvent[]> {
    this.queries++;
    if (this.fail) throw new Error('db down');
    return this.rows.filter((r) => ids.includes(r.id) && !this.old.has(r.id));
  }
}

const tick = () => new Promise((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

function setup() {
  const store = new MemoryStateStore();
  const outbox = new FakeOutbox();
  const scheduler = new ManualScheduler();
  const hub = new OrderEventHub(store, outbox as unknown as OrderEventRepository, scheduler);
  const got: OrderEventMessage[] = [];
  const announce = (message: unknown) =>
    store.publish(ORDER_EVENTS_CHANNEL, typeof message === 'string' ? message : JSON.stringify(message));
  return { store, outbox, scheduler, hub, got, announce, listen: () => hub.listen((e) => got.push(e)) };
}

describe('OrderEventHub', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('delivers the event as the outbox holds it, whatever the message says', async () => {
    const { outbox, got, announce, listen, hub } = setup();
    await listen();
    outbox.rows.push(stored(1));
    await announce({ ...toOrderEventMessage(stored(1)), symbol: 'FORGED', data: { evil: true } });
    await settle();
    expect(got).toEqual([toOrderEventMessage(stored(1))]);
    await hub.onModuleDestroy();
  });

  it('a forged message (no such event, a huge id, not JSON) reaches nobody and makes nothing skip', async () => {
    const { outbox, got, announce, listen, hub } = setup();
    outbox.rows.push(stored(1), stored(2));
    outbox.old = new Set([1, 2]);
    await listen();
    await announce({ id: 999_999_999_999, type: 'order.fill', client_order_id: 'forged' });
    await announce({ id: 2 });
    await announce('not json');
    await announce({ id: 'x' });
    await settle();
    expect(got).toEqual([]);
    outbox.rows.push(stored(3));
    await announce({ id: 3 });
    await settle();
    expect(got.map((e) => e.id)).toEqual([3]);
    await hub.onModuleDestroy();
  });

  it('an old event announced again is not sent; one committed late is, once', async () => {
    const { outbox, got, announce, listen, hub } = setup();
    outbox.rows.push(stored(1));
    outbox.old.add(1);
    await listen();
    outbox.rows.push(stored(3));
    await announce({ id: 3 });
    await settle();
    outbox.rows.push(stored(2));
    await announce({ id: 2 });
    await announce({ id: 1 });
    await settle();
    await announce({ id: 2 });
    await announce({ id: 3 });
    await settle();
    expect(got.map((e) => e.id)).toEqual([3, 2]);
    await hub.onModuleDestroy();
  });

  it('a batch of announcements costs one read; a failed read is retried', async () => {
    const { outbox, got, announce, listen, hub, scheduler } = setup();
    await listen();
    outbox.rows.push(stored(1), stored(2), stored(3));
    outbox.fail = true;
    await Promise.all([1, 2, 3].map((id) => announce({ id })));
    await settle();
    expect(got).toEqual([]);
    outbox.fail = false;
    const before = outbox.queries;
    await scheduler.advance(1_000);
    await settle();
    expect(got.map((e) => e.id)).toEqual([1, 2, 3]);
    expect(outbox.queries - before).toBe(1);
    await hub.onModuleDestroy();
  });

  it('reads nothing while nobody listens, and a new listener starts at the end of the outbox', async () => {
    const { outbox, got, announce, listen, hub } = setup();
    const stop = await listen();
    stop();
    outbox.rows.push(stored(1));
    const before = outbox.queries;
    await announce({ id: 1 });
    await settle();
    expect(outbox.queries).toBe(before);
    await listen();
    outbox.rows.push(stored(2));
    await announce({ id: 2 });
    await settle();
    expect(got.map((e) => e.id)).toEqual([2]);
    await hub.onModuleDestroy();
  });
});
