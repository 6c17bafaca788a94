import { Logger } from '@nestjs/common';
import { Principal } from '../auth/permission';
import { DomainError } from '../common/domain-error';
import { ManualScheduler } from '../infra/clock/manual-scheduler';
import { EventSink } from './event-stream.session';
import { DEFAULT_ORDER_EVENTS_OPTIONS } from './events.options';
import { OrderEventMessage, StoredOrderEvent, toOrderEventMessage } from './order-event';
import { OrderEventHub, OrderEventListener } from './order-event.hub';
import { OrderEventRepository } from './persistence/order-event.repository';
import { StreamOrderEventsUseCase } from './stream-order-events.use-case';
import { KeyStreamRegistry, KeyVerifier } from './key-streams';
import { AppConfig } from '../config/app-config';
import { MemoryStateStore } from '../infra/state/memory-state-store';

class FakeHub {
  listeners = new Set<OrderEventListener>();
  fail = false;
  async listen(l: OrderEventListener): Promise<() => void> {
    if (this.fail) throw new Error('ECONNREFUSED');
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }
  emit(e: OrderEventMessage) {
    for (const l of this.listeners) l(e);
  }
}

class FakeEvents {
  rows: StoredOrderEvent[] = [];
  calls: Array<{ afterId: number; limit: number }> = [];
  fail = false;
  async listAfter(afterId: number, _filter: unknown, limit: number): Promise<StoredOrderEvent[]> {
    this.calls.push({ afterId, limit });
    if (this.fail) throw new Error('db down');
    return this.rows.filter((r) => r.id > afterId).slice(0, limit);
  }
}

function sink() {
  const s = {
    opened: false,
    ended: false,
    chunks: [] as string[],
    bufferedBytes: 0,
    open: () => void (s.opened = true),
    write: (c: string) => void s.chunks.push(c),
    end: () => void (s.ended = true),
  };
  return s satisfies EventSink;
}

const stored = (id: number): StoredOrderEvent => ({
  id,
  clientOrderId: `o${id}`,
  strategyId: 'alpha',
  symbol: 'AAPL',
  eventType: 'order.status',
  status: 'new',
  payload: {},
  createdAt: new Date('2026-01-02T15:00:00.000Z'),
});

const all = new Principal('k', 'all', new Set(['VIEW_ORDERS']), ['*']);
const alphaOnly = new Principal('k', 'alpha', new Set(['VIEW_ORDERS']), ['alpha']);

function setup(replayLimit = 1_000) {
  const hub = new FakeHub();
  const events = new FakeEvents();
  const scheduler = new ManualScheduler();
  const keys: KeyVerifier = { forget: () => undefined, authenticate: async () => all };
  const keyStreams = new KeyStreamRegistry(
    { eventStreams: { maxPerKey: 5 } } as AppConfig,
    new MemoryStateStore(),
    keys,
    scheduler,
  );
  const useCase = new StreamOrderEventsUseCase(
    hub as unknown as OrderEventHub,
    events as unknown as OrderEventRepository,
    { ...DEFAULT_ORDER_EVENTS_OPTIONS, replayLimit },
    scheduler,
    keyStreams,
  );
  return { hub, events, useCase, keyStreams };
}

describe('StreamOrderEventsUseCase', () => {
  beforeAll(() => Logger.overrideLogger(false));
  it('refuses a strategy outside the key scope before sending anything', async () => {
    const { useCase, hub } = setup();
    const s = sink();
    await expect(useCase.open(alphaOnly, { presentedKey: 'k', strategyId: 'beta' }, s)).rejects.toMatchObject({
      kind: 'forbidden',
      code: 'STRATEGY_FORBIDDEN',
    });
    expect(s.opened).toBe(false);
    expect(hub.listeners.size).toBe(0);
  });

  it('answers 503 (unavailable) when the live feed cannot be subscribed to', async () => {
    const { useCase, hub } = setup();
    hub.fail = true;
    const err = await useCase.open(all, { presentedKey: 'k' }, sink()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect(err).toMatchObject({ kind: 'unavailable', code: 'EVENTS_UNAVAILABLE' });
  });

  it('a failed replay read leaves the response untouched and stops listening', async () => {
    const { useCase, hub, events } = setup();
    events.fail = true;
    const s = sink();
    await expect(useCase.open(all, { presentedKey: 'k', afterId: 0 }, s)).rejects.toThrow('db down');
    expect(s.opened).toBe(false);
    expect(hub.listeners.size).toBe(0);
    expect(useCase.openStreams).toBe(0);
  });

  it('without a resume id streams live only; with one it replays first, reading one past the limit', async () => {
    const { useCase, hub, events } = setup(2);
    events.rows = [stored(1), stored(2)];
    const live = sink();
    await useCase.open(all, { presentedKey: 'k' }, live);
    expect(events.calls).toEqual([]);
    const resumed = sink();
    await useCase.open(all, { presentedKey: 'k', afterId: 0 }, resumed);
    expect(events.calls).toEqual([{ afterId: 0, limit: 3 }]);
    expect(resumed.chunks.filter((c) => c.startsWith('id:'))).toHaveLength(2);
    expect(resumed.ended).toBe(false);
    hub.emit(toOrderEventMessage(stored(3)));
    expect(live.chunks.some((c) => c.startsWith('id: 3\n'))).toBe(true);
    expect(resumed.chunks.some((c) => c.startsWith('id: 3\n'))).toBe(true);
    useCase.onModuleDestroy();
  });

  it('ends the stream after a replay that hit the limit', async () => {
    const { useCase, events, hub } = setup(2);
    events.rows = [stored(1), stored(2), stored(3)];
    const s = sink();
    await useCase.open(all, { presentedKey: 'k', afterId: 0 }, s);
    expect(s.chunks.filter((c) => c.startsWith('id:'))).toHaveLength(2);
    expect(s.ended).toBe(true);
    expect(hub.listeners.size).toBe(0);
  });

  it('a shutdown while the replay is read answers 503 instead of leaving the request hanging', async () => {
    const { useCase, events } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = events.listAfter.bind(events);
    events.listAfter = async (...args) => {
      await gate;
      return original(...args);
    };
    const s = sink();
    const opening = useCase.open(all, { presentedKey: 'k', afterId: 0 }, s);
    await new Promise((r) => setImmediate(r));
    useCase.onModuleDestroy();
    release();
    await expect(opening).rejects.toMatchObject({ kind: 'unavailable', code: 'EVENTS_UNAVAILABLE' });
    expect(s.opened).toBe(false);
  });

  it('close() on client disconnect stops listening; shutdown ends every stream and refuses new ones', async () => {
    const { useCase, hub } = setup();
    const a = sink();
    const b = sink();
    const streamA = await useCase.open(all, { presentedKey: 'k' }, a);
    await useCase.open(all, { presentedKey: 'k' }, b);
    expect(useCase.openStreams).toBe(2);
    streamA.close();
    expect(a.ended).toBe(true);
    expect(hub.listeners.size).toBe(1);
    useCase.onModuleDestroy();
    expect(b.ended).toBe(true);
    expect(hub.listeners.size).toBe(0);
    expect(useCase.openStreams).toBe(0);
    await expect(useCase.open(all, { presentedKey: 'k' }, sink())).rejects.toMatchObject({ kind: 'unavailable' });
  });
});
