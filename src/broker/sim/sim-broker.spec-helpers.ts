/** Shared by the sim broker's specs (test code only). */
import { ManualClock } from '../../infra/clock/clock';
import { BrokerError, type BrokerOrderRequest, type OrderUpdate } from '../broker-client.port';
import { SimBrokerClient } from './sim-broker.client';
import type {
  SimArchiveFillsQuery,
  SimArchiveOrdersQuery,
  SimBookArchive,
  SimBookChanges,
  SimBookSnapshot,
  SimBookStore,
  SimPriceState,
} from './sim-book';
import type { SimExecution } from './sim-exchange';
import type { SimBrokerOptions } from './sim-options';
import { isLive, type SimOrder } from './sim-order';

export function makeSim(overrides: Partial<SimBrokerOptions> = {}): { sim: SimBrokerClient; clock: ManualClock } {
  const clock = new ManualClock(new Date('2026-01-05T15:00:00.000Z'));
  let n = 0;
  const sim = new SimBrokerClient({
    clock,
    referencePrices: { AAPL: '100', MSFT: '400' },
    idFactory: () => `id-${++n}`,
    ...overrides,
  });
  return { sim, clock };
}

let coid = 0;
export function order(overrides: Partial<BrokerOrderRequest> = {}): BrokerOrderRequest {
  coid += 1;
  return {
    clientOrderId: `c-${coid}`,
    symbol: 'AAPL',
    side: 'buy',
    qty: '10',
    type: 'market',
    timeInForce: 'day',
    limitPrice: null,
    stopPrice: null,
    ...overrides,
  };
}

export interface Recorder {
  updates: OrderUpdate[];
  log: string[];
}

export async function record(sim: SimBrokerClient): Promise<Recorder> {
  const recorder: Recorder = { updates: [], log: [] };
  await sim.connect({
    onUpdate: (u) => {
      recorder.updates.push(u);
      recorder.log.push(`${u.event}:${u.order.clientOrderId}`);
    },
    onConnected: (reconnect) => {
      recorder.log.push(`connected:${reconnect}`);
    },
  });
  return recorder;
}

export async function rejection(promise: Promise<unknown>): Promise<BrokerError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BrokerError) return error;
    throw error;
  }
  throw new Error('expected a BrokerError');
}

/** A SimBookStore in memory (copies in, copies out), as the PostgreSQL one behaves, archive reads included. */
export class MemorySimBookStore implements SimBookStore, SimBookArchive {
  /** Archive reads so far (findOrder, listOrders, listFills, fillSeq). */
  reads = 0;
  readonly orders = new Map<string, SimOrder>();
  readonly executions = new Map<string, SimExecution>();
  readonly prices = new Map<string, SimPriceState>();
  saves = 0;
  /** Set to make the next saves fail (each failure consumes one). */
  failures = 0;
  /** Set to hold saves until released. */
  gate: Promise<void> | null = null;
  /** Batches seen by `save`, in order (held or not). */
  readonly batches: SimBookChanges[] = [];

  async load(): Promise<SimBookSnapshot> {
    return {
      orders: [...this.orders.values()].map((o) => ({ ...o })),
      executions: [...this.executions.values()].map((e) => ({ ...e })),
      prices: [...this.prices.values()].map((p) => ({ ...p })),
    };
  }

  async save(changes: SimBookChanges): Promise<void> {
    this.batches.push(changes);
    const gate = this.gate;
    if (gate) await gate;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('database unavailable (test)');
    }
    this.saves += 1;
    for (const o of changes.orders) this.orders.set(o.id, { ...o });
    for (const e of changes.executions)
      if (!this.executions.has(e.executionId)) this.executions.set(e.executionId, { ...e });
    for (const p of changes.prices) this.prices.set(p.symbol, { ...p });
  }

  async findOrder(key: { id: string } | { clientOrderId: string }): Promise<SimOrder[]> {
    this.reads += 1;
    const all = [...this.orders.values()].sort((a, b) => a.seq - b.seq);
    const found = all.find((o) => ('id' in key ? o.id === key.id : o.clientOrderId === key.clientOrderId));
    if (found === undefined) return [];
    if (found.parentId !== null) return [{ ...found }];
    return [found, ...all.filter((o) => o.parentId === found.id)].map((o) => ({ ...o }));
  }

  async listOrders(q: SimArchiveOrdersQuery): Promise<SimOrder[]> {
    this.reads += 1;
    const all = [...this.orders.values()];
    const roots = all
      .filter((o) => o.parentId === null)
      .filter((o) => q.status === 'all' || (q.status === 'open') === isLive(o))
      .filter((o) => q.symbols === null || q.symbols.includes(o.symbol))
      .filter((o) => q.after === undefined || o.createdAt.getTime() > q.after.getTime())
      .filter((o) => q.until === undefined || o.createdAt.getTime() < q.until.getTime())
      .sort((a, b) => b.seq - a.seq)
      .slice(0, q.limit);
    return roots.flatMap((r) => [r, ...all.filter((o) => o.parentId === r.id).sort((a, b) => a.seq - b.seq)]);
  }

  async listFills(q: SimArchiveFillsQuery): Promise<SimExecution[]> {
    this.reads += 1;
    return [...this.executions.values()]
      .filter((e) => e.seq > q.afterSeq)
      .filter((e) => q.after === undefined || e.transactionTime.getTime() > q.after.getTime())
      .filter((e) => q.until === undefined || e.transactionTime.getTime() < q.until.getTime())
      .sort((a, b) => a.seq - b.seq)
      .slice(0, q.limit)
      .map((e) => ({ ...e }));
  }

  async fillSeq(executionId: string): Promise<number | null> {
    this.reads += 1;
    return this.executions.get(executionId)?.seq ?? null;
  }
}
