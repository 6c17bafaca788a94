import { Logger } from '@nestjs/common';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { StateStore } from '../infra/state/state-store';
import { DEFAULT_ORDER_EVENTS_OPTIONS, OrderEventsOptions } from './events.options';
import { ORDER_EVENTS_CHANNEL, StoredOrderEvent } from './order-event';
import { OrderEventPublisher } from './order-event.publisher';
import { OrderEventRepository, PublishBatchResult } from './persistence/order-event.repository';

/** The outbox as the publisher sees it: unpublished rows, marked when publish reports them sent. */
class FakeOutbox {
  rows: Array<StoredOrderEvent & { published: boolean }> = [];
  batches = 0;
  failNext?: Error;

  add(n: number): void {
    for (let i = 0; i < n; i++) {
      const id = this.rows.length + 1;
      this.rows.push({
        id,
        clientOrderId: `o${id}`,
        strategyId: 'alpha',
        symbol: 'AAPL',
        eventType: 'order.status',
        status: 'new',
        payload: { n: id },
        createdAt: new Date('2026-01-02T15:00:00.000Z'),
        published: false,
      });
    }
  }

  async publishBatch(limit: number, publish: (e: StoredOrderEvent[]) => Promise<number>): Promise<PublishBatchResult> {
    this.batches++;
    if (this.failNext) {
      const err = this.failNext;
      this.failNext = undefined;
      throw err;
    }
    const claimed = this.rows.filter((r) => !r.published).slice(0, limit);
    if (!claimed.length) return { busy: false, claimed: 0, published: 0 };
    const sent = await publish(claimed.map(({ published: _, ...e }) => e));
    claimed.slice(0, sent).forEach((r) => (r.published = true));
    return { busy: false, claimed: claimed.length, published: sent };
  }
}

class FakeStore {
  sent: Array<{ channel: string; message: string }> = [];
  failFrom?: number;
  async publishMany(channel: string, messages: string[]): Promise<{ published: number; error?: unknown }> {
    for (const [i, message] of messages.entries()) {
      if (this.failFrom !== undefined && this.sent.length >= this.failFrom) {
        return { published: i, error: new Error('redis down') };
      }
      this.sent.push({ channel, message });
    }
    return { published: messages.length };
  }
}

function publisher(over: Partial<OrderEventsOptions> = {}) {
  const outbox = new FakeOutbox();
  const store = new FakeStore();
  const scheduler = new ManualScheduler();
  const p = new OrderEventPublisher(
    outbox as unknown as OrderEventRepository,
    store as unknown as StateStore,
    {
      ...DEFAULT_ORDER_EVENTS_OPTIONS,
      publishBatchSize: 10,
      ...over,
    },
    scheduler,
  );
  return { outbox, store, p, scheduler };
}

describe('OrderEventPublisher', () => {
  beforeAll(() => Logger.overrideLogger(false));
  it('publishes a batch in id order on orders.events, as the documented JSON', async () => {
    const { outbox, store, p } = publisher();
    outbox.add(3);
    expect(await p.publishOnce()).toEqual({ busy: false, claimed: 3, published: 3 });
    expect(store.sent.map((s) => s.channel)).toEqual([
      ORDER_EVENTS_CHANNEL,
      ORDER_EVENTS_CHANNEL,
      ORDER_EVENTS_CHANNEL,
    ]);
    expect(store.sent.map((s) => JSON.parse(s.message).id)).toEqual([1, 2, 3]);
    expect(JSON.parse(store.sent[0].message)).toEqual({
      id: 1,
      type: 'order.status',
      client_order_id: 'o1',
      strategy_id: 'alpha',
      symbol: 'AAPL',
      status: 'new',
      data: { n: 1 },
      created_at: '2026-01-02T15:00:00.000Z',
    });
    expect(outbox.rows.every((r) => r.published)).toBe(true);
  });

  it('marks only the events sent before the first failure; the rest stay for the next attempt', async () => {
    const { outbox, store, p } = publisher();
    outbox.add(5);
    store.failFrom = 2;
    expect(await p.publishOnce()).toEqual({ busy: false, claimed: 5, published: 2 });
    expect(outbox.rows.map((r) => r.published)).toEqual([true, true, false, false, false]);
    store.failFrom = undefined;
    expect(await p.publishOnce()).toMatchObject({ claimed: 3, published: 3 });
    expect(store.sent.map((s) => JSON.parse(s.message).id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('the loop drains a backlog without waiting between full batches, then idles', async () => {
    const { outbox, store, p, scheduler } = publisher({ publishIntervalMs: 60_000 });
    outbox.add(35);
    p.start();
    try {
      await scheduler.runDue();
      expect(store.sent).toHaveLength(35);
      expect(outbox.batches).toBe(4);
      expect(scheduler.pending()).toEqual([{ kind: 'sleep', name: undefined, dueInMs: 60_000 }]);
    } finally {
      await p.stop();
    }
  });

  it('kick() publishes at once instead of at the next tick', async () => {
    const { outbox, store, p, scheduler } = publisher({ publishIntervalMs: 60_000 });
    p.start();
    try {
      await scheduler.runDue();
      expect(outbox.batches).toBe(1);
      outbox.add(1);
      p.kick();
      await scheduler.runDue();
      expect(store.sent).toHaveLength(1);
      expect(outbox.batches).toBe(2);
    } finally {
      await p.stop();
    }
  });

  it('polls every publishIntervalMs while idle', async () => {
    const { outbox, store, p, scheduler } = publisher({ publishIntervalMs: 200 });
    p.start();
    try {
      await scheduler.runDue();
      outbox.add(1);
      await scheduler.advance(199);
      expect(store.sent).toHaveLength(0);
      await scheduler.advance(1);
      expect(store.sent).toHaveLength(1);
    } finally {
      await p.stop();
    }
  });

  it('keeps going after a failed attempt, backing off (doubling) until it works', async () => {
    const { outbox, store, p, scheduler } = publisher({ publishIntervalMs: 5 });
    outbox.failNext = new Error('database down');
    outbox.add(2);
    p.start();
    try {
      await scheduler.runDue();
      expect(outbox.batches).toBe(1);
      expect(store.sent).toHaveLength(0);
      await scheduler.advance(9);
      expect(outbox.batches).toBe(1);
      await scheduler.advance(1); // 2 × 5 ms
      expect(store.sent).toHaveLength(2);
      expect(outbox.batches).toBe(2);
    } finally {
      await p.stop();
    }
  });

  it('stop() waits for the batch in flight and ends the loop', async () => {
    const { outbox, p, scheduler } = publisher({ publishIntervalMs: 5 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = outbox.publishBatch.bind(outbox);
    outbox.publishBatch = async (limit, publish) => {
      await gate;
      return original(limit, publish);
    };
    outbox.add(1);
    p.start();
    await scheduler.runDue();
    expect(outbox.batches).toBe(0);
    expect(p.isRunning).toBe(true);
    let stopped = false;
    const stopping = p.stop().then(() => (stopped = true));
    await scheduler.advance(20);
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(outbox.rows[0].published).toBe(true);
    const before = outbox.batches;
    await scheduler.advance(1_000);
    expect(outbox.batches).toBe(before);
    expect(scheduler.pending()).toEqual([]);
  });

  it('starts with the application unless told not to', () => {
    const on = publisher();
    on.p.onApplicationBootstrap();
    expect(on.p.isRunning).toBe(true);
    const off = publisher({ startPublisher: false });
    off.p.onApplicationBootstrap();
    expect(off.p.isRunning).toBe(false);
    return Promise.all([on.p.onModuleDestroy(), off.p.onModuleDestroy()]);
  });
});
